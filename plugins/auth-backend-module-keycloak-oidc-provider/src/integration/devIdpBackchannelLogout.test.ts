import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import {
  createBackchannelLogoutRouter,
  type BackchannelLogoutHandler,
} from '../backchannel/backchannelLogoutRouter';
import {
  createLogoutTokenVerifier,
  issuerFromMetadataUrl,
} from '../backchannel/createLogoutTokenVerifier';
import {
  BACKCHANNEL_LOGOUT_EVENT,
  type LogoutTokenSubject,
} from '../backchannel/LogoutTokenVerifier';
import { KeycloakOidcClient } from '../oidc/KeycloakOidcClient';
import { Browser } from '../__testUtils__/Browser';
import { CapturingLogger } from '../__testUtils__/CapturingLogger';
import { DevIdp } from '../__testUtils__/DevIdp';
import { freePort } from '../__testUtils__/freePort';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../__testUtils__/KeycloakTestBackend';
import { logout, refresh, signIn } from '../__testUtils__/signIn';
import { devUsers } from '../__testUtils__/users';

jest.setTimeout(60_000);

interface Delivery {
  method?: string;
  url?: string;
  contentType?: string;
  body: string;
}

/**
 * The dev IdP's admin "Sign out" delivers real back-channel logout tokens
 * (oidc-provider's own) that the module's verifier accepts against the
 * IdP's published keys: the two agree on iss, aud, events, sub and sid.
 */
describe('dev IdP back-channel logout', () => {
  let idp: DevIdp;
  let backend: KeycloakTestBackend;
  let receiver: Server;
  let deliveries: Delivery[];
  /** When set, the receiver hands requests to it instead of recording them */
  let route: BackchannelLogoutHandler | undefined;
  let metadataUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (route) {
        route(req, res, () => res.writeHead(404).end());
        return;
      }
      let body = '';
      req.on('data', chunk => {
        body += chunk;
      });
      req.on('end', () => {
        deliveries.push({
          method: req.method,
          url: req.url,
          contentType: req.headers['content-type'],
          body,
        });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>(resolve => receiver.listen(port, resolve));
    idp = await DevIdp.start([
      '--backchannel-logout-uri',
      `http://localhost:${port}/bcl`,
    ]);
    metadataUrl = idp.issuer;
    backend = await startKeycloakTestBackend({ issuer: idp.issuer });
  });

  beforeEach(() => {
    deliveries = [];
    route = undefined;
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

  /** The verifier the module builds per environment, discovering the JWKS. */
  function moduleVerifier(seen = new Set<string>()) {
    const client = new KeycloakOidcClient({
      metadataUrl,
      clientId: 'backstage',
      clientSecret: 'backstage-dev-secret',
      callbackUrl: `${backend.authUrl}/handler/frame`,
      tokenEndpointAuthMethod: 'client_secret_basic',
      timeoutMs: 5000,
    });
    return createLogoutTokenVerifier({
      issuer: issuerFromMetadataUrl(metadataUrl),
      clientId: 'backstage',
      jwksUri: async () => (await client.serverMetadata()).jwksUri,
      markJtiSeen: async jti => {
        if (seen.has(jti)) return false;
        seen.add(jti);
        return true;
      },
    });
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
    const verifier = moduleVerifier();
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

      const verified = await verifier.verify(token);
      expect(verified).toEqual({
        sub: devUsers.alice.sub,
        sid: claims.sid,
        jti: claims.jti,
      });
      sids.push(verified.sid!);
      // and only once
      await expect(verifier.verify(token)).rejects.toThrow(
        'logout token rejected: jti already used',
      );
    }
    // one token per Keycloak session, naming the sid the ID token carried
    expect(sids.sort()).toEqual([first.sid, second.sid].sort());

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
  });

  it("the module's route accepts the IdP's delivery and deletes by sub and sid", async () => {
    const { sid } = await signedIn('alice');
    const deleted: LogoutTokenSubject[] = [];
    const logger = new CapturingLogger();
    route = createBackchannelLogoutRouter({
      verifier: [moduleVerifier()],
      deleteSessionsOf: async owner => {
        deleted.push(owner);
        return 1;
      },
      logger,
      path: '/bcl',
    });

    expect(await idp.signOutUser('alice')).toEqual({
      sessions: 1,
      delivered: 1,
      failed: 0,
    });
    expect(deleted).toEqual([{ sub: devUsers.alice.sub, sid }]);
    expect(logger.lines).toEqual([
      expect.objectContaining({
        level: 'info',
        meta: expect.objectContaining({ sid }),
      }),
    ]);
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
    await expect(moduleVerifier().verify(token)).resolves.toEqual({
      sub: devUsers.alice.sub,
      sid,
      jti: expect.any(String),
    });
  });

  it('counts a delivery the client refuses as failed', async () => {
    await idp.signOutUser('bob'); // the session of the first test
    await signedIn('bob');
    route = (_req, res) => {
      res.writeHead(400).end();
    };
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
