import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import { freePort } from '@redis-session/test-support';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { logout, refresh, signIn } from '../fixtures/signIn';
import { devUsers } from '../fixtures/users';

jest.setTimeout(60_000);

// the `events` member of a logout token (OIDC Back-Channel Logout 1.0, 2.4)
const BACKCHANNEL_LOGOUT_EVENT =
  'http://schemas.openid.net/event/backchannel-logout';
const BACKCHANNEL_LOGOUT_PATH = '/api/auth/keycloak-oidc/backchannel-logout';

interface Delivery {
  method?: string;
  url?: string;
  contentType?: string;
  body: string;
}

/**
 * The dev IdP's admin "Sign out" delivers real back-channel logout tokens
 * (oidc-provider's own) that the module's back-channel logout route accepts
 * against the IdP's published keys: the two agree on iss, aud, events, sub
 * and sid.
 */
describe('dev IdP back-channel logout', () => {
  let idp: DevIdp;
  let backend: KeycloakTestBackend;
  let receiver: Server;
  let deliveries: Delivery[];
  /**
   * What the receiver does with a delivery after recording it: answer 200
   * itself, pass it on to the backend's back-channel logout route (and
   * its answer back to the IdP), or answer with this status.
   */
  let answer: 'record' | 'forward' | number;

  /** Posts a form body to the backend's back-channel logout route. */
  const postToBackend = (body: string, contentType?: string) =>
    fetch(`${backend.url}${BACKCHANNEL_LOGOUT_PATH}`, {
      method: 'POST',
      headers: {
        'content-type': contentType ?? 'application/x-www-form-urlencoded',
      },
      body,
    });

  /** The backend's log lines about back-channel logouts, from `from` on. */
  const backchannelLogLines = (from = 0) =>
    backend.logger.lines
      .slice(from)
      .filter(l => /back-channel logout/i.test(l.message));

  beforeAll(async () => {
    const port = await freePort();
    receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', chunk => {
        body += chunk;
      });
      req.on('end', async () => {
        deliveries.push({
          method: req.method,
          url: req.url,
          contentType: req.headers['content-type'],
          body,
        });
        if (answer === 'forward') {
          try {
            const forwarded = await postToBackend(
              body,
              req.headers['content-type'],
            );
            res.writeHead(forwarded.status).end(await forwarded.text());
          } catch (error) {
            res.writeHead(502).end(String(error));
          }
        } else {
          res.writeHead(answer === 'record' ? 200 : answer).end();
        }
      });
    });
    await new Promise<void>(resolve => receiver.listen(port, resolve));
    idp = await DevIdp.start([
      '--backchannel-logout-uri',
      `http://localhost:${port}/bcl`,
    ]);
    backend = await startKeycloakTestBackend({ issuer: idp.issuer });
  });

  beforeEach(() => {
    deliveries = [];
    answer = 'record';
  });

  afterAll(async () => {
    await backend?.stop();
    await idp?.stop();
    receiver?.closeAllConnections();
    await new Promise(resolve => receiver?.close(resolve));
  });

  /** Signs in through Backstage; returns the browser and the Keycloak sid. */
  async function signedIn(user: 'alice' | 'bob') {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, user);
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(200);
    const { providerInfo } = await res.json();
    const { sid } = decodeJwt(providerInfo.idToken) as { sid: string };
    return { browser, sid };
  }

  /**
   * Hands a logout token to the module's route as the IdP would: the route
   * verifies it against the IdP's JWKS (a 200 and its log line naming the
   * token's sub and sid), and refuses the same token again (jti replay).
   */
  async function expectModuleAccepts(
    token: string,
    subject: { sub: string; sid: string },
  ) {
    const from = backend.logger.lines.length;
    const res = await postToBackend(
      new URLSearchParams({ logout_token: token }).toString(),
    );
    expect(res.status).toBe(200);
    expect(backchannelLogLines(from)).toEqual([
      expect.objectContaining({
        level: 'info',
        meta: expect.objectContaining(subject),
      }),
    ]);
    const replay = await postToBackend(
      new URLSearchParams({ logout_token: token }).toString(),
    );
    expect(replay.status).toBe(400);
    expect((await replay.json()).error_description).toContain(
      'logout token rejected: jti already used',
    );
  }

  it('signs a user out of every session and posts a logout token per session', async () => {
    const first = await signedIn('alice');
    const second = await signedIn('alice');
    const bob = await signedIn('bob');
    const before = await idp.stats();

    expect(await idp.signOutUser('alice')).toEqual({
      sessions: 2,
      delivered: 2,
      failed: 0,
    });

    expect(deliveries).toHaveLength(2);
    const tokens: string[] = [];
    const sids: string[] = [];
    for (const delivery of deliveries) {
      expect(delivery).toMatchObject({
        method: 'POST',
        url: '/bcl',
        contentType: 'application/x-www-form-urlencoded',
      });
      const form = new URLSearchParams(delivery.body);
      expect([...form.keys()]).toEqual(['logout_token']);
      const token = form.get('logout_token')!;

      // what oidc-provider puts in a logout token
      expect(decodeProtectedHeader(token)).toEqual({
        alg: 'RS256',
        typ: 'logout+jwt',
        kid: expect.any(String),
      });
      const claims = decodeJwt(token);
      expect(Object.keys(claims).sort()).toEqual(
        ['aud', 'events', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub'].sort(),
      );
      expect(claims).toMatchObject({
        iss: idp.issuer,
        aud: 'backstage',
        sub: devUsers.alice.sub,
        events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      });
      expect(claims.exp! - claims.iat!).toBe(120);
      expect(claims.jti).toEqual(expect.any(String));
      tokens.push(token);
      sids.push(claims.sid as string);
    }
    // one token per Keycloak session, naming the sid the ID token carried
    expect([...sids].sort()).toEqual([first.sid, second.sid].sort());

    expect(await idp.stats()).toMatchObject({
      backchannelLogouts: before.backchannelLogouts + 2,
      backchannelLogoutErrors: before.backchannelLogoutErrors,
    });

    // the sessions are dead at the IdP: refreshing there fails
    const refreshErrors = before.refreshErrors;
    for (const { browser } of [first, second]) {
      const res = await refresh(browser, backend.authUrl);
      expect(res.status).toBe(401);
      expect((await res.json()).error.message).toBe(
        'Keycloak session ended (Session not active); sign in again',
      );
    }
    expect((await idp.stats()).refreshErrors).toBe(refreshErrors + 2);

    // another user is not affected
    expect((await refresh(bob.browser, backend.authUrl)).status).toBe(200);

    // the module's route verifies each token (once) and names its subject
    for (const [i, token] of tokens.entries()) {
      await expectModuleAccepts(token, {
        sub: devUsers.alice.sub,
        sid: sids[i],
      });
    }
  });

  it("the module's route accepts the IdP's delivery and deletes by sub and sid", async () => {
    const { browser, sid } = await signedIn('alice');
    const other = await signedIn('bob');
    answer = 'forward';
    const from = backend.logger.lines.length;

    expect(await idp.signOutUser('alice')).toEqual({
      sessions: 1,
      delivered: 1,
      failed: 0,
    });
    expect(backchannelLogLines(from)).toEqual([
      expect.objectContaining({
        level: 'info',
        meta: expect.objectContaining({
          sub: devUsers.alice.sub,
          sid,
          sessions: 1,
        }),
      }),
    ]);
    // deleted in Backstage before anyone asked the IdP: not found, where a
    // session the IdP ended but Backstage kept says "Keycloak session ended"
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toBe(
      'Session not found or expired; sign in again',
    );
    expect((await refresh(other.browser, backend.authUrl)).status).toBe(200);
  });

  it('also posts a logout token when the user signs out through Backstage', async () => {
    const { browser, sid } = await signedIn('alice');
    const { logoutUrl } = await (await logout(browser, backend.authUrl)).json();
    // the end-session page submits itself; an HTTP client posts its form
    const page = await browser.follow(logoutUrl);
    const form = await page.res.text();
    const action = /action="([^"]+)"/.exec(form)![1];
    const xsrf = /name="xsrf" value="([^"]*)"/.exec(form)![1];
    await browser.follow(new URL(action, page.url).href, {
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ xsrf, logout: 'yes' }),
      },
      stopAt: next => next.origin === 'http://localhost:3000',
    });

    expect(deliveries).toHaveLength(1);
    const token = new URLSearchParams(deliveries[0].body).get('logout_token')!;
    await expectModuleAccepts(token, { sub: devUsers.alice.sub, sid });
  });

  it('counts a delivery the client refuses as failed', async () => {
    await idp.signOutUser('bob'); // the session of the first test
    await signedIn('bob');
    answer = 400;
    const before = await idp.stats();
    expect(await idp.signOutUser('bob')).toEqual({
      sessions: 1,
      delivered: 0,
      failed: 1,
    });
    expect((await idp.stats()).backchannelLogoutErrors).toBe(
      before.backchannelLogoutErrors + 1,
    );
  });

  it('signs out a user without sessions, and refuses unknown users', async () => {
    expect(await idp.signOutUser('carol')).toEqual({
      sessions: 0,
      delivered: 0,
      failed: 0,
    });
    await expect(idp.signOutUser('mallory')).rejects.toThrow(
      'Sign-out of mallory failed: 404 {"error":"unknown user \'mallory\'"}',
    );
    expect(deliveries).toEqual([]);
  });
});
