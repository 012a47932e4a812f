import { CookieJar } from 'tough-cookie';

/**
 * A cookie-keeping HTTP client that follows redirects by hand, so a test
 * can see (and reroute) every hop of a login like a browser would make it.
 */
export class Browser {
  readonly jar = new CookieJar();

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = await this.jar.getCookieString(url);
    if (cookie) {
      headers.set('cookie', cookie);
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const setCookie of res.headers.getSetCookie()) {
      await this.jar.setCookie(setCookie, url, { ignoreError: true });
    }
    return res;
  }

  /**
   * Follows redirects from `url` until a non-redirect response or until
   * `reroute` is told about a URL it wants to change (e.g. send the
   * callback to another replica).
   */
  async follow(
    url: string,
    options: {
      init?: RequestInit;
      reroute?: (url: URL) => URL;
      /** Stop before requesting a URL this returns true for */
      stopAt?: (url: URL) => boolean;
    } = {},
  ): Promise<{ res: Response; url: string; hops: string[] }> {
    const hops: string[] = [];
    let current = url;
    let res = await this.request(current, options.init);
    while (
      res.status >= 300 &&
      res.status < 400 &&
      res.headers.get('location')
    ) {
      let next = new URL(res.headers.get('location')!, current);
      if (options.reroute) {
        next = options.reroute(next);
      }
      current = next.href;
      hops.push(current);
      if (options.stopAt?.(next)) {
        break;
      }
      res = await this.request(current);
    }
    return { res, url: current, hops };
  }

  async cookieValue(url: string, name: string): Promise<string | undefined> {
    const cookies = await this.jar.getCookies(url);
    return cookies.find(c => c.key === name)?.value;
  }

  async allCookieValues(): Promise<string[]> {
    const serialized = await this.jar.serialize();
    return serialized.cookies.map(c => String(c.value ?? ''));
  }
}

/**
 * Where the login form in `html` posts to: Keycloak's `#kc-form-login`, or
 * the first form (the dev IdP's, which imitates it).
 */
export function loginFormAction(html: string, pageUrl: string): string {
  const match =
    /<form[^>]*\bid="kc-form-login"[^>]*\baction="([^"]+)"/i.exec(html) ??
    /<form[^>]*\baction="([^"]+)"/i.exec(html);
  if (!match) {
    throw new Error(`No login form on ${pageUrl}:\n${html.slice(0, 500)}`);
  }
  return new URL(match[1].replace(/&amp;/g, '&'), pageUrl).href;
}
