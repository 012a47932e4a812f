import { NotFoundError } from '@backstage/errors';
import type {
  AuthResolverContext,
  BackstageSignInResult,
  SignInResolver,
} from '@backstage/plugin-auth-node';
import type { Redis } from 'ioredis';
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import {
  CapturingLogger,
  redisCommandsDuring,
  RedisServer,
} from '@redis-session/test-support';
import type { KeycloakAuthResult, SessionAuthResult } from '../authResult';
import { SessionMetrics, type LoginOutcome } from '../metrics/SessionMetrics';
import { redisStorageAt } from '../__testUtils__/connectedRedis';
import { sampleRecord } from '../__testUtils__/sessionStoreContract';
import type { SessionStorage, SessionStore } from '../session/types';
import { completeSessionSignIn } from './completeSessionSignIn';

const ALICE = 'user:default/alice';

/** Counts logins by outcome; the other instruments record nothing. */
class RecordingMetrics extends SessionMetrics {
  readonly logins: LoginOutcome[] = [];
  override login(outcome: LoginOutcome) {
    this.logins.push(outcome);
  }
}

// completeSessionSignIn hands it on to the resolver, or issues a token
// from a stored identity through it
const issued: unknown[] = [];
const resolverContext = {
  issueToken: async params => {
    issued.push(params);
    return { token: 'issued-from-the-stored-identity' };
  },
} as AuthResolverContext;
const NOW = Date.UTC(2026, 11, 6, 12);

let redis: RedisServer;
let inspector: Redis;
let signingKey: CryptoKey;
let prefixes = 0;

beforeAll(async () => {
  redis = await RedisServer.start();
  inspector = redis.client();
  signingKey = (await generateKeyPair('ES256')).privateKey;
});

afterAll(async () => {
  inspector.disconnect();
  await redis.dispose();
});

/** A Backstage sign-in result for `entityRef`, as the token issuer makes it. */
async function signedInAs(entityRef: string): Promise<BackstageSignInResult> {
  const token = await new SignJWT({ ent: [entityRef] })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer('http://localhost:7007/api/auth')
    .setSubject(entityRef)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(signingKey);
  return { token };
}

/** What the authenticator returns for the session behind `handle`. */
function sessionResult(
  handle: string,
  sessionSignIn: SessionAuthResult['sessionSignIn'],
): SessionAuthResult {
  return {
    fullProfile: { claims: { sub: sampleRecord().sub } },
    session: {
      accessToken: 'access',
      tokenType: 'Bearer',
      scope: 'openid',
      refreshToken: handle,
    },
    sessionSignIn,
  };
}

describe('completeSessionSignIn', () => {
  let storage: SessionStorage;
  let store: SessionStore;
  let metrics: RecordingMetrics;
  let handle: string;

  beforeEach(async () => {
    issued.length = 0;
    ({ storage } = await redisStorageAt(redis.url, `signin-${++prefixes}:`));
    store = storage.sessions;
    metrics = new RecordingMetrics();
    ({ handle } = await store.createSession(sampleRecord(), 60_000));
  });

  afterEach(() => storage.close());

  /**
   * Runs `resolver` wrapped, as the provider factory wires it; identities
   * are not kept unless `identityCacheSeconds` says so.
   */
  const signIn = (
    resolver: SignInResolver<KeycloakAuthResult>,
    result: KeycloakAuthResult,
    identityCacheSeconds = 0,
  ) =>
    completeSessionSignIn(resolver, {
      store,
      logger: new CapturingLogger(),
      metrics,
      identityCacheSeconds,
      now: () => NOW,
    })({ profile: {}, result }, resolverContext);

  describe('a new login', () => {
    it('deletes the new session when the resolver refuses it, and counts it refused', async () => {
      const refusal = new NotFoundError('User not found');
      const outcome = signIn(
        async () => {
          throw refusal;
        },
        sessionResult(handle, { isNew: true }),
      );
      await expect(outcome).rejects.toBe(refusal);
      expect(await store.getSession(handle)).toBeUndefined();
      expect(metrics.logins).toEqual(['refused']);
    });

    it("ends the browser's older session only once the resolver accepted the login", async () => {
      const endReplacedSession = jest.fn(async () => {});
      await expect(
        signIn(
          async () => {
            throw new NotFoundError('User not found');
          },
          sessionResult(handle, { isNew: true, endReplacedSession }),
        ),
      ).rejects.toThrow('User not found');
      expect(endReplacedSession).not.toHaveBeenCalled();

      ({ handle } = await store.createSession(sampleRecord(), 60_000));
      await signIn(
        async () => signedInAs(ALICE),
        sessionResult(handle, { isNew: true, endReplacedSession }),
      );
      expect(endReplacedSession).toHaveBeenCalledTimes(1);
    });

    it('records the entity the session signed in as, and counts it ok', async () => {
      const alice = await signedInAs(ALICE);
      let context: unknown;
      const outcome = await signIn(
        async (_, ctx) => {
          context = ctx;
          return alice;
        },
        sessionResult(handle, { isNew: true }),
      );
      expect(outcome).toBe(alice);
      expect(context).toBe(resolverContext);
      expect((await store.getSession(handle))?.entityRef).toBe(ALICE);
      expect(
        await storage.queries.listSessions({ entityRef: ALICE }),
      ).toHaveLength(1);
      expect(metrics.logins).toEqual(['ok']);
    });
  });

  describe('a refresh', () => {
    it('writes nothing when the resolver returns the entity already stored', async () => {
      await store.setEntityRef(handle, ALICE);
      const alice = await signedInAs(ALICE);
      const result = sessionResult(handle, { isNew: false, entityRef: ALICE });
      const commands = await redisCommandsDuring(inspector, async () => {
        await signIn(async () => alice, result);
      });
      expect(commands).toEqual({});
      expect(metrics.logins).toEqual([]);
    });

    it('records a different entity (a renamed user), without counting a login', async () => {
      await store.setEntityRef(handle, ALICE);
      const renamed = await signedInAs('user:default/alice-smith');
      await signIn(
        async () => renamed,
        sessionResult(handle, { isNew: false, entityRef: ALICE }),
      );
      expect((await store.getSession(handle))?.entityRef).toBe(
        'user:default/alice-smith',
      );
      expect(metrics.logins).toEqual([]);
    });

    it('keeps the session when the resolver refuses, without counting a login', async () => {
      const refusal = new NotFoundError('User not found');
      await expect(
        signIn(
          async () => {
            throw refusal;
          },
          sessionResult(handle, { isNew: false }),
        ),
      ).rejects.toBe(refusal);
      expect(await store.getSession(handle)).toBeDefined();
      expect(metrics.logins).toEqual([]);
    });
  });

  describe('a refresh with identity caching (identityCacheTtl)', () => {
    const refuse = async (): Promise<BackstageSignInResult> => {
      throw new Error('the resolver must not run');
    };

    it('issues the token from a stored identity, without the resolver and without a Redis command', async () => {
      const identity = {
        claims: {
          sub: ALICE,
          ent: [ALICE, 'group:default/team-a'],
          custom: 'kept',
        },
        resolvedAt: NOW - 30_000,
      };
      let outcome;
      const commands = await redisCommandsDuring(inspector, async () => {
        outcome = await signIn(
          refuse,
          sessionResult(handle, { isNew: false, entityRef: ALICE, identity }),
          60,
        );
      });
      expect(outcome).toEqual({ token: 'issued-from-the-stored-identity' });
      expect(issued).toEqual([{ claims: identity.claims }]);
      expect(commands).toEqual({});
    });

    it('answers with the verdict reached before the tokens were stored (a Keycloak refresh)', async () => {
      const alice = await signedInAs(ALICE);
      const commands = await redisCommandsDuring(inspector, async () => {
        expect(
          await signIn(
            refuse,
            sessionResult(handle, {
              isNew: false,
              entityRef: ALICE,
              signedIn: alice,
            }),
            60,
          ),
        ).toBe(alice);
      });
      expect(issued).toEqual([]);
      expect(commands).toEqual({});
    });

    it('records what the resolver made of the user when it had to resolve, for the next refreshes', async () => {
      const token = await new SignJWT({ ent: [ALICE, 'group:default/team-b'] })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer('http://localhost:7007/api/auth')
        .setSubject(ALICE)
        .setAudience('backstage')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(signingKey);
      await signIn(
        async () => ({ token }),
        sessionResult(handle, { isNew: false, entityRef: ALICE }),
        60,
      );
      expect((await store.getSession(handle))?.identity).toEqual({
        claims: { sub: ALICE, ent: [ALICE, 'group:default/team-b'] },
        resolvedAt: NOW,
      });
    });

    it('is a 503 that keeps the session when issuing the token gets no answer from the database', async () => {
      const identity = { claims: { sub: ALICE }, resolvedAt: NOW };
      const context = {
        issueToken: async () => {
          throw Object.assign(
            new Error('connect ECONNREFUSED 127.0.0.1:5432'),
            {
              code: 'ECONNREFUSED',
            },
          );
        },
      } as unknown as AuthResolverContext;
      const outcome = completeSessionSignIn(refuse, {
        store,
        logger: new CapturingLogger(),
        metrics,
        identityCacheSeconds: 60,
      })(
        {
          profile: {},
          result: sessionResult(handle, { isNew: false, identity }),
        },
        context,
      );
      await expect(outcome).rejects.toMatchObject({
        name: 'ServiceUnavailableError',
      });
      expect(await store.getSession(handle)).toBeDefined();
    });
  });

  describe('a resolver that gets no answer from the catalog', () => {
    const unreachable = () =>
      new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), {
          code: 'ECONNREFUSED',
        }),
      });

    it('is a 503 on a refresh, and the session stays', async () => {
      const outcome = signIn(
        async () => {
          throw unreachable();
        },
        sessionResult(handle, { isNew: false }),
      );
      await expect(outcome).rejects.toMatchObject({
        name: 'ServiceUnavailableError',
        message: expect.stringContaining('the session is kept'),
      });
      expect(await store.getSession(handle)).toBeDefined();
      expect(metrics.logins).toEqual([]);
    });

    it('is a 503 on a new login, which leaves no session and counts as an error', async () => {
      const outcome = signIn(
        async () => {
          throw unreachable();
        },
        sessionResult(handle, { isNew: true }),
      );
      await expect(outcome).rejects.toMatchObject({
        name: 'ServiceUnavailableError',
        message: expect.stringContaining('try signing in again'),
      });
      expect(await store.getSession(handle)).toBeUndefined();
      expect(metrics.logins).toEqual(['error']);
    });
  });

  describe('a result that is not a session result', () => {
    it('passes through: the resolver decides, the store and the counters are untouched', async () => {
      const { sessionSignIn: _, ...plain } = sessionResult(handle, {
        isNew: true,
      });
      const refusal = new NotFoundError('User not found');
      await expect(
        signIn(async () => {
          throw refusal;
        }, plain),
      ).rejects.toBe(refusal);
      const alice = await signedInAs(ALICE);
      expect(await signIn(async () => alice, plain)).toBe(alice);
      const stored = await store.getSession(handle);
      expect(stored).toBeDefined();
      expect(stored?.entityRef).toBeUndefined();
      expect(metrics.logins).toEqual([]);
    });
  });
});
