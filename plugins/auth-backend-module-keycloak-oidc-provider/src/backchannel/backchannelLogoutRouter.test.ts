import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import authPlugin from '@backstage/plugin-auth-backend';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import request from 'supertest';
import {
  CapturingLogger,
  closingDatabaseServiceFactory,
} from '@redis-session/test-support';
import {
  LogoutTokenRejectedError,
  SessionStoreUnavailableError,
} from '../errors';
import {
  createBackchannelLogoutRouter,
  type BackchannelLogoutRouterOptions,
} from './backchannelLogoutRouter';
import type { LogoutTokenSubject } from './LogoutTokenVerifier';

const PATH = '/keycloak-oidc/backchannel-logout';
const GOOD = 'header.good-token.signature';
const SUB = '5b0d5c52-3a2e-4f4c-9c1e-0a11ce000001';

/**
 * The route on a bare node:http app (as Express would call it, minus
 * Express), with a verifier that knows one good token and an in-memory
 * deleteSessionsOf that records what it was asked.
 */
function setup(overrides: Partial<BackchannelLogoutRouterOptions> = {}) {
  const deletions: LogoutTokenSubject[] = [];
  const metrics: string[] = [];
  const logger = new CapturingLogger();
  const handler = createBackchannelLogoutRouter({
    verifier: {
      async verify(token) {
        if (token !== GOOD) {
          throw new LogoutTokenRejectedError(
            'signature',
            'signature verification failed',
          );
        }
        return { sub: SUB, sid: 'sid-1', jti: 'j1' };
      },
    },
    async deleteSessionsOf(owner) {
      deletions.push(owner);
      return 2;
    },
    logger,
    metrics: {
      backchannelLogout: (outcome, reason) =>
        metrics.push(reason ? `${outcome}:${reason}` : outcome),
    },
    ...overrides,
  });
  const app = (req: IncomingMessage, res: ServerResponse) =>
    handler(req, res, error => {
      res.statusCode = error ? 500 : 404;
      res.end(error ? 'error' : 'not found');
    });
  return { app, deletions, metrics, logger };
}

const post = (app: ReturnType<typeof setup>['app']) =>
  request(app).post(PATH).type('form');

describe('backchannel logout route', () => {
  it('deletes the sessions named by a valid token: 200, no-store, empty', async () => {
    const { app, deletions, metrics, logger } = setup();
    const res = await post(app).send({ logout_token: GOOD });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toBe('');
    expect(deletions).toEqual([{ sub: SUB, sid: 'sid-1' }]);
    expect(metrics).toEqual(['accepted']);
    const lines = logger.lines.filter(l => l.level !== 'debug');
    expect(lines).toEqual([
      {
        level: 'info',
        message: `Back-channel logout: deleted 2 session(s) of sub=${SUB} sid=sid-1`,
        meta: { sub: SUB, sid: 'sid-1', sessions: 2 },
      },
    ]);
    expect(logger.dump()).not.toContain(GOOD);
  });

  it('passes only sid, or only sub, when the token names only that', async () => {
    for (const claims of [
      { sid: 'sid-2', jti: 'a' },
      { sub: SUB, jti: 'b' },
    ]) {
      const { app, deletions } = setup({
        verifier: { verify: async () => claims },
      });
      expect((await post(app).send({ logout_token: 'x' })).status).toBe(200);
      const { jti: _, ...owner } = claims;
      expect(deletions).toEqual([owner]);
    }
  });

  it.each([
    [
      'a rejected token',
      (app: ReturnType<typeof setup>['app']) =>
        post(app).send({ logout_token: 'header.forged.signature' }),
      'logout token rejected: signature verification failed',
      'signature',
    ],
    [
      'no logout_token',
      (app: ReturnType<typeof setup>['app']) => post(app).send({ other: 'x' }),
      'missing logout_token parameter',
      'missing_token',
    ],
    [
      'an empty logout_token',
      (app: ReturnType<typeof setup>['app']) =>
        post(app).send({ logout_token: '' }),
      'missing logout_token parameter',
      'missing_token',
    ],
    [
      'an empty body',
      (app: ReturnType<typeof setup>['app']) => post(app),
      'missing logout_token parameter',
      'missing_token',
    ],
    [
      'two logout_tokens',
      (app: ReturnType<typeof setup>['app']) =>
        post(app).send(`logout_token=${GOOD}&logout_token=${GOOD}`),
      'logout_token parameter given more than once',
      'duplicate_token',
    ],
    [
      'a JSON body',
      (app: ReturnType<typeof setup>['app']) =>
        request(app)
          .post(PATH)
          .set('content-type', 'application/json')
          .send(JSON.stringify({ logout_token: GOOD })),
      'content type must be application/x-www-form-urlencoded',
      'content_type',
    ],
    [
      'no content type',
      (app: ReturnType<typeof setup>['app']) =>
        request(app)
          .post(PATH)
          .send(Buffer.from(`logout_token=${GOOD}`)),
      'content type must be application/x-www-form-urlencoded',
      'content_type',
    ],
    [
      'a charset other than utf-8',
      (app: ReturnType<typeof setup>['app']) =>
        request(app)
          .post(PATH)
          .set(
            'content-type',
            'application/x-www-form-urlencoded; charset=iso-8859-1',
          )
          .send(`logout_token=${GOOD}`),
      'charset must be utf-8',
      'charset',
    ],
    [
      'a 1 MB body',
      (app: ReturnType<typeof setup>['app']) =>
        post(app).send(`logout_token=${GOOD}&pad=${'a'.repeat(1024 * 1024)}`),
      'request body is larger than 16384 bytes',
      'body_too_large',
    ],
    [
      'a 1 MB logout_token',
      (app: ReturnType<typeof setup>['app']) =>
        post(app).send({ logout_token: 'a'.repeat(1024 * 1024) }),
      'request body is larger than 16384 bytes',
      'body_too_large',
    ],
  ])(
    'answers 400 invalid_request for %s, deleting nothing',
    async (_name, send, description, reason) => {
      const { app, deletions, metrics, logger } = setup();
      const res = await send(app);
      expect(res.status).toBe(400);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: description,
      });
      expect(deletions).toEqual([]);
      expect(metrics).toEqual([`rejected:${reason}`]);
      expect(logger.lines).toEqual([
        expect.objectContaining({
          level: 'warn',
          message: `Back-channel logout refused: ${description}`,
        }),
      ]);
      expect(logger.dump()).not.toContain(GOOD);
    },
  );

  it('answers 503 when the session store is unavailable, so the IdP retries', async () => {
    const { app, metrics, logger } = setup({
      deleteSessionsOf: async () => {
        throw new SessionStoreUnavailableError(
          'Session store (Redis) unavailable while deleting sessions',
        );
      },
    });
    const res = await post(app).send({ logout_token: GOOD });
    expect(res.status).toBe(503);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      error: 'temporarily_unavailable',
      error_description:
        'Session store (Redis) unavailable while deleting sessions',
    });
    expect(metrics).toEqual(['rejected:unavailable']);
    expect(logger.lines.map(l => l.level)).toEqual(['warn']);
  });

  it('answers 503 when the replay check cannot reach the store', async () => {
    const { app, deletions } = setup({
      verifier: {
        verify: async () => {
          throw new SessionStoreUnavailableError('Session store (Redis) down');
        },
      },
    });
    const res = await post(app).send({ logout_token: GOOD });
    expect(res.status).toBe(503);
    expect(deletions).toEqual([]);
  });

  it('answers 405 to other methods and leaves other paths alone', async () => {
    const { app } = setup();
    const get = await request(app).get(PATH);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    const other = await request(app)
      .post('/keycloak-oidc/refresh')
      .type('form')
      .send({ logout_token: GOOD });
    expect(other.status).toBe(404);
  });

  it('uses a body that an Express body parser already read', async () => {
    const { deletions } = setup();
    const handler = createBackchannelLogoutRouter({
      verifier: { verify: async () => ({ sub: SUB, jti: 'j' }) },
      deleteSessionsOf: async owner => {
        deletions.push(owner);
        return 1;
      },
      logger: new CapturingLogger(),
    });
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use(handler);
    const res = await post(app).send({ logout_token: GOOD });
    expect(res.status).toBe(200);
    expect(deletions).toEqual([{ sub: SUB }]);
  });
});

/**
 * Mounted as the module will mount it: on the auth plugin's httpRouter from
 * a module's init, which runs before the plugin's, so the route sees the
 * raw request before the auth plugin's own body parser (100 KB limit, 413).
 */
describe('backchannel logout route on the auth plugin', () => {
  const deletions: LogoutTokenSubject[] = [];
  let backend: Awaited<ReturnType<typeof startTestBackend>>;

  beforeAll(async () => {
    backend = await startTestBackend({
      features: [
        authPlugin,
        closingDatabaseServiceFactory(),
        createBackendModule({
          pluginId: 'auth',
          moduleId: 'backchannel-logout-test',
          register(reg) {
            reg.registerInit({
              deps: {
                httpRouter: coreServices.httpRouter,
                logger: coreServices.logger,
              },
              async init({ httpRouter, logger }) {
                httpRouter.use(
                  createBackchannelLogoutRouter({
                    verifier: {
                      verify: async token => {
                        if (token !== GOOD) {
                          throw new LogoutTokenRejectedError(
                            'signature',
                            'signature verification failed',
                          );
                        }
                        return { sub: SUB, jti: 'j' };
                      },
                    },
                    deleteSessionsOf: async owner => {
                      deletions.push(owner);
                      return 0;
                    },
                    logger,
                  }),
                );
              },
            });
          },
        }),
        catalogServiceMock.factory(),
        mockServices.rootConfig.factory({
          data: {
            app: { baseUrl: 'http://localhost:3000' },
            auth: { environment: 'development' },
          },
        }),
      ],
    });
  });

  afterAll(() => backend?.stop());

  const URL_PATH = `/api/auth${PATH}`;

  it('answers at /api/auth/keycloak-oidc/backchannel-logout without credentials', async () => {
    const res = await request(backend.server)
      .post(URL_PATH)
      .type('form')
      .send({ logout_token: GOOD });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(deletions).toEqual([{ sub: SUB }]);
  });

  it('answers 400, not 413, to a 1 MB body', async () => {
    const res = await request(backend.server)
      .post(URL_PATH)
      .type('form')
      .send({ logout_token: 'a'.repeat(1024 * 1024) });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description: 'request body is larger than 16384 bytes',
    });
  });

  it('answers 400 to a bad token', async () => {
    const res = await request(backend.server)
      .post(URL_PATH)
      .type('form')
      .send({ logout_token: 'forged' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });
});
