import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Cookie, Page } from 'playwright-core';
import { devUsers, type DevUserName } from './users';

/** Where failing browser tests leave their screenshots (git-ignored) */
export const SCREENSHOT_DIR = resolve(
  __dirname,
  '../../../../test-results/browser',
);

/** The README's screenshots, rewritten by `UPDATE_SCREENSHOTS=1 yarn test:e2e` */
const README_IMAGES = resolve(__dirname, '../../../../docs/images');

const REFRESH_COOKIE = 'keycloak-oidc-refresh-token';
const WAIT_MS = 30_000;

/** Every session still open, so a failing test can photograph them all. */
const openSessions = new Set<AppSession>();

/**
 * One browser profile (its own cookies and storage) using the app: the
 * page, plus a log of every URL the profile requested, popups included.
 */
export class AppSession {
  readonly requests: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly appUrl: string,
  ) {}

  static async open(browser: Browser, appUrl: string) {
    const context = await browser.newContext();
    const session = new AppSession(context, await context.newPage(), appUrl);
    context.on('request', request => session.requests.push(request.url()));
    openSessions.add(session);
    return session;
  }

  get signInButton() {
    return this.page.getByRole('button', { name: 'Sign in' });
  }

  /** Present only on the signed-in home page */
  get userEntityRef() {
    return this.page.getByTestId('user-entity-ref');
  }

  async goto() {
    await this.page.goto(this.appUrl);
    return this.settledView();
  }

  async reload() {
    await this.page.reload();
    return this.settledView();
  }

  /**
   * Waits for the app to land on the sign-in page or the home page (the
   * silent refresh decides which) and for the network to go quiet, so any
   * error toast has had its chance to appear.
   */
  async settledView(): Promise<'sign-in' | 'home'> {
    await this.signInButton
      .or(this.userEntityRef)
      .first()
      .waitFor({ timeout: WAIT_MS });
    await this.page.waitForLoadState('networkidle');
    return (await this.userEntityRef.count()) > 0 ? 'home' : 'sign-in';
  }

  /**
   * Clicks "Sign in", fills the IdP's login form in the popup and waits
   * for the home page. Returns whether the IdP asked for credentials (it
   * does not when its own session is still alive).
   */
  async signIn(user: DevUserName): Promise<{ loginFormShown: boolean }> {
    const [popup] = await Promise.all([
      this.context.waitForEvent('page', { timeout: WAIT_MS }),
      this.signInButton.click(),
    ]);
    const username = popup.locator('input[name=username]');
    const closed = popup.waitForEvent('close', { timeout: WAIT_MS });
    const first = await Promise.race([
      username.waitFor({ timeout: WAIT_MS }).then(() => 'form' as const),
      closed.then(() => 'closed' as const),
    ]);
    if (first === 'form') {
      await username.fill(user);
      await popup.locator('input[name=password]').fill(devUsers[user].password);
      await popup.locator('[type=submit]').first().click();
    }
    await closed;
    await this.userEntityRef.waitFor({ timeout: WAIT_MS });
    return { loginFormShown: first === 'form' };
  }

  async text(testId: string) {
    return (await this.page.getByTestId(testId).textContent())?.trim();
  }

  async attribute(testId: string, name: string) {
    return this.page.getByTestId(testId).getAttribute(name);
  }

  async refreshCookie(): Promise<Cookie | undefined> {
    const cookies = await this.context.cookies();
    return cookies.find(c => c.name === REFRESH_COOKIE);
  }

  /**
   * Texts of every toast, alert or dialog on the page, and any line of the
   * page mentioning an error, failure or timeout (the sign-in card prints
   * a failed sign-in's message inline).
   */
  async alerts(): Promise<string[]> {
    const roles = await this.page
      .locator('[role=alert], [role=alertdialog], [role=dialog]')
      .allTextContents();
    const lines = (await this.page.locator('body').innerText())
      .split('\n')
      .filter(line => /error|fail|timed? ?out/i.test(line));
    return [...roles, ...lines];
  }

  /** URLs requested from `origin` since the request log had `since` entries */
  requestsTo(origin: string, since = 0) {
    return this.requests.slice(since).filter(url => url.startsWith(origin));
  }

  /** Refreshes docs/images/<name>.png when UPDATE_SCREENSHOTS is set */
  async readmeScreenshot(name: string) {
    if (!process.env.UPDATE_SCREENSHOTS) return;
    mkdirSync(README_IMAGES, { recursive: true });
    await this.page.screenshot({ path: join(README_IMAGES, `${name}.png`) });
  }

  async close() {
    openSessions.delete(this);
    await this.context.close();
  }

  /** Screenshots of every page of every open session; returns the files. */
  static async screenshotAll(testName: string): Promise<string[]> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const slug = testName.replace(/[^a-z0-9]+/gi, '-').slice(0, 100);
    const files: string[] = [];
    let i = 0;
    for (const session of openSessions) {
      for (const page of session.context.pages()) {
        const file = join(SCREENSHOT_DIR, `${slug}-${++i}.png`);
        await page
          .screenshot({ path: file, fullPage: true, timeout: 5_000 })
          .then(() => files.push(file))
          .catch(() => {});
      }
    }
    return files;
  }
}

/**
 * Wraps a browser test's body: on failure, screenshots of every open page
 * are saved under test-results/browser and named in the error.
 */
export function withScreenshots(fn: () => Promise<void>) {
  return async () => {
    const testName = expect.getState().currentTestName ?? 'browser-test';
    try {
      await fn();
    } catch (error) {
      const files = await AppSession.screenshotAll(testName);
      if (error instanceof Error && files.length > 0) {
        error.message += `\n\nScreenshots:\n${files.join('\n')}`;
      }
      throw error;
    }
  };
}
