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

// completeSessionSignIn only hands it on to the resolver
const resolverContext = {} as AuthResolverContext;

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
    ({ storage } = await redisStorageAt(redis.url, `signin-${++prefixes}:`));
    store = storage.sessions;
    metrics = new RecordingMetrics();
    ({ handle } = await store.createSession(sampleRecord(), 60_000));
  });

  afterEach(() => storage.close());

  /** Runs `resolver` wrapped, as the provider factory wires it. */
  const signIn = (
    resolver: SignInResolver<KeycloakAuthResult>,
    result: KeycloakAuthResult,
  ) =>
    completeSessionSignIn(resolver, {
      store,
      logger: new CapturingLogger(),
      metrics,
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
