import { MiddlewareFactory } from '@backstage/backend-defaults/rootHttpRouter';
import { ConfigReader } from '@backstage/config';
import {
  AuthenticationError,
  InputError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  encodeOAuthState,
  type AuthProviderRouteHandlers,
} from '@backstage/plugin-auth-node';
import express, { type RequestHandler } from 'express';
import Router from 'express-promise-router';
import request from 'supertest';
import { CapturingLogger } from '@redis-session/test-support';
import {
  KeycloakSessionEndedError,
  KeycloakUnavailableError,
  SessionEndedError,
  SessionStoreUnavailableError,
} from '../errors';
import { memorySessionStorage } from '../session/memory/memorySessionStorage';
import type { SessionStore } from '../session/types';
import { browserBindingOf } from '../signIn/browserBinding';
import { guardRouteHandlers } from './guardRouteHandlers';

const APP_URL = 'http://localhost:3000';
const ROUTES = '/api/auth/keycloak-oidc';
const NONCE = 'nonce-1';

/**
 * Backstage's auth router parses cookies (cookie-parser) before the provider
 * routes run. This package does not depend on cookie-parser, so this does
 * the same for the plain `name=value` cookies these tests send.
 */
const parseCookies: RequestHandler = (req, _res, next) => {
  req.cookies = Object.fromEntries(
    (req.headers.cookie ?? '')
      .split(';')
      .filter(pair => pair.includes('='))
      .map(pair => {
        const at = pair.indexOf('=');
        return [
          pair.slice(0, at).trim(),
          decodeURIComponent(pair.slice(at + 1)),
        ];
      }),
  );
  next();
};

/**
 * Guarded fake upstream handlers that record whether they ran, on the
 * routes plugin-auth-backend binds them to (bindProviderRouters), behind
 * Backstage's own error handler, so the statuses are the ones Backstage
 * would answer.
 */
function setup() {
  const storage = memorySessionStorage();
  const upstreamCalls: string[] = [];
  const upstream = {
    refreshFailure: undefined as unknown,
    startFailure: undefined as unknown,
    handlers: {
      async start(_req, res) {
        upstreamCalls.push('start');
        if (upstream.startFailure) throw upstream.startFailure;
        res.redirect('http://keycloak.example.com/auth');
      },
      async frameHandler(_req, res) {
        upstreamCalls.push('frameHandler');
        res.send('signed in');
      },
      async refresh(_req, res) {
        upstreamCalls.push('refresh');
        if (upstream.refreshFailure) throw upstream.refreshFailure;
        res.json({ refreshed: true });
      },
    } as AuthProviderRouteHandlers,
  };
  const logger = new CapturingLogger();
  const guarded = guardRouteHandlers(upstream.handlers, {
    logger,
    providerId: 'keycloak-oidc',
    store: storage.sessions,
    appUrl: APP_URL,
    isOriginAllowed: origin => origin === 'https://extra.example.com',
  });
  const provider = Router();
  provider.get('/start', guarded.start.bind(guarded));
  provider.get('/handler/frame', guarded.frameHandler.bind(guarded));
  provider.get('/refresh', guarded.refresh!.bind(guarded));
  provider.post('/refresh', guarded.refresh!.bind(guarded));
  const app = express();
  app.use(ROUTES, parseCookies, provider);
  app.use(
    MiddlewareFactory.create({
      config: new ConfigReader({}),
      logger: new CapturingLogger(),
    }).error(),
  );
  return { app, upstream, upstreamCalls, store: storage.sessions, logger };
}

const stateWith = (extra: Record<string, string> = {}) =>
  encodeOAuthState({ nonce: NONCE, env: 'development', ...extra });

const nonceCookie = `keycloak-oidc-nonce=${NONCE}`;

describe('/start', () => {
  it.each([
    [
      'another origin',
      'https://evil.example.com/x',
      'https://evil.example.com',
    ],
    [
      'a protocol-relative URL',
      '//evil.example.com/x',
      'http://evil.example.com',
    ],
  ])(
    'refuses a redirectUrl on %s with 400, before upstream runs',
    async (_, redirectUrl, origin) => {
      const { app, upstreamCalls } = setup();
      const res = await request(app)
        .get(`${ROUTES}/start`)
        .query({ env: 'development', flow: 'redirect', redirectUrl });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        name: 'InputError',
        message: `redirectUrl must be on the app's origin (${APP_URL}) or an allowed origin, not '${origin}'`,
      });
      expect(upstreamCalls).toEqual([]);
    },
  );

  it('refuses flow=redirect without a redirectUrl', async () => {
    const { app, upstreamCalls } = setup();
    const res = await request(app)
      .get(`${ROUTES}/start`)
      .query({ env: 'development', flow: 'redirect' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('flow=redirect needs a redirectUrl');
    expect(upstreamCalls).toEqual([]);
  });

  it.each([`${APP_URL}/catalog`, '/catalog', 'https://extra.example.com/x'])(
    'lets a redirect to %s through to upstream',
    async redirectUrl => {
      const { app, upstreamCalls } = setup();
      const res = await request(app)
        .get(`${ROUTES}/start`)
        .query({ env: 'development', flow: 'redirect', redirectUrl });
      expect(res.status).toBe(302);
      expect(upstreamCalls).toEqual(['start']);
    },
  );
});

describe('the sign-in callback', () => {
  const callback = (app: express.Express, state?: string, cookie?: string) => {
    const req = request(app)
      .get(`${ROUTES}/handler/frame`)
      .query(state === undefined ? { code: 'c' } : { code: 'c', state });
    return cookie ? req.set('Cookie', cookie) : req;
  };

  it.each([
    [
      'no state',
      undefined,
      nonceCookie,
      400,
      'The sign-in callback has no state parameter',
    ],
    [
      'no nonce cookie',
      stateWith(),
      undefined,
      403,
      'The sign-in callback arrived without the keycloak-oidc-nonce cookie; finish the sign-in in the browser that started it, within 5 minutes',
    ],
    [
      "another browser's nonce cookie",
      stateWith(),
      'keycloak-oidc-nonce=someone-else',
      403,
      'The sign-in state does not belong to this browser (keycloak-oidc-nonce mismatch)',
    ],
    [
      'a state naming a foreign redirectUrl',
      stateWith({ flow: 'redirect', redirectUrl: 'https://evil.example.com' }),
      nonceCookie,
      400,
      "redirectUrl must be on the app's origin (http://localhost:3000) or an allowed origin, not 'https://evil.example.com'",
    ],
    [
      'no pending login for its state',
      stateWith(),
      nonceCookie,
      400,
      'Unknown, expired or already used sign-in state; start the sign-in again',
    ],
  ])(
    'refuses a callback with %s, before upstream runs',
    async (_, state, cookie, status, message) => {
      const { app, upstreamCalls } = setup();
      const res = await callback(app, state, cookie);
      expect(res.status).toBe(status);
      expect(res.body.error.message).toBe(message);
      expect(upstreamCalls).toEqual([]);
    },
  );

  /** A login /start stored, bound to the browser holding `secret`. */
  async function pendingLogin(store: SessionStore, secret = 'the-secret') {
    const state = stateWith();
    const transaction = {
      codeVerifier: 'v',
      nonce: 'n',
      browserBinding: browserBindingOf(secret),
      createdAt: 1,
    };
    await store.putLoginTransaction(state, transaction, 60_000, 100);
    return {
      state,
      transaction,
      cookie: `${nonceCookie}; keycloak-oidc-login=${secret}`,
    };
  }

  it.each([
    [
      'without the login cookie',
      () => nonceCookie,
      'The sign-in callback arrived without the keycloak-oidc-login cookie; finish the sign-in in the browser that started it',
    ],
    [
      // whoever holds a leaked callback URL can forge the nonce cookie (the
      // nonce is in the state), not the login cookie
      "with another browser's login cookie",
      () => `${nonceCookie}; keycloak-oidc-login=attackers-own`,
      'The sign-in state does not belong to this browser (keycloak-oidc-login mismatch)',
    ],
  ])(
    'refuses a callback %s with 403, and the login stays pending',
    async (_, cookie, message) => {
      const { app, upstreamCalls, store } = setup();
      const { state, transaction } = await pendingLogin(store);
      const res = await callback(app, state, cookie());
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe(message);
      expect(upstreamCalls).toEqual([]);
      // the real browser can still finish it
      expect(await store.peekLoginTransaction(state)).toEqual(transaction);
    },
  );

  it('hands a pending login to upstream without consuming its transaction', async () => {
    const { app, upstreamCalls, store } = setup();
    const { state, transaction, cookie } = await pendingLogin(store);
    const res = await callback(app, state, cookie);
    expect(res.status).toBe(200);
    expect(upstreamCalls).toEqual(['frameHandler']);
    // the authenticator takes it, exactly once; the guard only looked
    expect(await store.takeLoginTransaction(state)).toEqual(transaction);
  });
});

describe('/refresh', () => {
  const wrapped = (cause: Error) =>
    new AuthenticationError('Refresh failed', cause);

  it.each([
    ['the session ended', wrapped(new SessionEndedError('x')), 401, 'x'],
    [
      'Keycloak ended the session',
      wrapped(new KeycloakSessionEndedError('Session not active')),
      401,
      'Keycloak session ended (Session not active); sign in again',
    ],
    [
      'Redis is down',
      wrapped(
        new SessionStoreUnavailableError(
          'Session store (Redis) unavailable while reading',
        ),
      ),
      503,
      'Session store (Redis) unavailable while reading',
    ],
    [
      'Keycloak is down',
      wrapped(
        new KeycloakUnavailableError(
          'Keycloak token endpoint failed during refresh: HTTP 502',
        ),
      ),
      503,
      'Keycloak token endpoint failed during refresh: HTTP 502',
    ],
  ])(
    'unwraps upstream\'s "Refresh failed" when %s',
    async (_, error, status, message) => {
      const { app, upstream } = setup();
      upstream.refreshFailure = error;
      const res = await request(app).post(`${ROUTES}/refresh`);
      expect(res.status).toBe(status);
      expect(res.body.error.message).toBe(message);
    },
  );

  it.each([
    ['a wrapped unknown failure', wrapped(new Error('boom')), 401],
    [
      'an unwrapped AuthenticationError',
      new AuthenticationError('Invalid X-Requested-With header'),
      401,
    ],
    ['an InputError', new InputError('Missing session cookie'), 400],
  ])("leaves upstream's answer to %s unchanged", async (_, error, status) => {
    const { app, upstream } = setup();
    upstream.refreshFailure = error;
    const res = await request(app).get(`${ROUTES}/refresh`);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatchObject({
      name: error.name,
      message: error.message,
    });
  });

  it('passes a successful refresh through', async () => {
    const { app, upstreamCalls } = setup();
    const res = await request(app).get(`${ROUTES}/refresh`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ refreshed: true });
    expect(upstreamCalls).toEqual(['refresh']);
  });
});

describe('/start during an outage', () => {
  const HTML = 'text/html,application/xhtml+xml,*/*;q=0.8';
  const REDIS_DOWN = new SessionStoreUnavailableError(
    "Session store (Redis) unavailable while saving the login transaction: Stream isn't writeable and enableOfflineQueue options is false",
  );
  const KEYCLOAK_DOWN = new KeycloakUnavailableError(
    'Keycloak discovery at http://kc/x failed: connect ECONNREFUSED 127.0.0.1:1',
  );

  it.each([
    ['Redis', REDIS_DOWN, 'The session store is unavailable'],
    ['Keycloak', KEYCLOAK_DOWN, 'Keycloak is unreachable'],
  ])(
    'shows a browser the outage page naming %s, and logs the cause at warn',
    async (_, error, headline) => {
      const { app, upstream, logger } = setup();
      upstream.startFailure = error;
      const res = await request(app)
        .get(`${ROUTES}/start`)
        .query({ env: 'development' })
        .set('Accept', HTML);
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.text).toContain(headline);
      expect(res.text).toContain(
        'Your session is kept; try signing in again in a moment.',
      );
      expect(res.text).not.toContain(error.message);
      expect(res.text).not.toMatch(/ECONNREFUSED|enableOfflineQueue|\{"error"/);
      expect(logger.lines).toEqual([
        expect.objectContaining({
          level: 'warn',
          message: expect.stringContaining(error.message.slice(0, 60)),
        }),
      ]);
    },
  );

  it('keeps the JSON 503 for a caller that does not ask for HTML', async () => {
    const { app, upstream } = setup();
    upstream.startFailure = REDIS_DOWN;
    const res = await request(app)
      .get(`${ROUTES}/start`)
      .query({ env: 'development' });
    expect(res.status).toBe(503);
    expect(res.body.error.message).toBe(REDIS_DOWN.message);
  });

  it('leaves a 503 that names no dependency (the pending-login budget) as JSON', async () => {
    const { app, upstream } = setup();
    upstream.startFailure = new ServiceUnavailableError(
      'Too many sign-ins in progress',
    );
    const res = await request(app)
      .get(`${ROUTES}/start`)
      .query({ env: 'development' })
      .set('Accept', HTML);
    expect(res.status).toBe(503);
    expect(res.body.error.message).toBe('Too many sign-ins in progress');
  });

  it('shows the outage page when the callback cannot read the pending login', async () => {
    const { app, store } = setup();
    store.peekLoginTransaction = async () => {
      throw REDIS_DOWN;
    };
    const res = await request(app)
      .get(`${ROUTES}/handler/frame`)
      .query({ code: 'c', state: stateWith() })
      .set('Cookie', nonceCookie)
      .set('Accept', HTML);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('The session store is unavailable');
    expect(res.text).not.toContain('enableOfflineQueue');
  });
});
