import { CapturingLogger, RedisServer } from '@redis-session/test-support';
import {
  KeycloakLikeServer,
  type RecordedCall,
} from '../__testUtils__/KeycloakLikeServer';
import {
  KeycloakUnavailableError,
  SessionStoreUnavailableError,
} from '../errors';
import { newSessionRecord } from '../oidc/sessionRecordFromTokens';
import { redisStorageAt } from '../__testUtils__/connectedRedis';
import type { SessionStorage } from '../session/types';
import { SessionRefresher } from './SessionRefresher';

/**
 * A Keycloak that answers a refresh grant after the module's timeout has
 * still granted it: with rotation on, the refresh token we sent is spent.
 * Dropping that answer logs the user out on the next refresh ("Maximum
 * allowed refresh token reuse exceeded"), so the refresher keeps the call,
 * and its lock, alive and stores the answer when it arrives.
 */
// whole seconds: openid-client's own timeout has that granularity
const TIMEOUT_MS = 1000;
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

jest.setTimeout(20_000);

let keycloak: KeycloakLikeServer;
let redis: RedisServer;
let storage: SessionStorage;
let logger: CapturingLogger;
let refresher: SessionRefresher;

beforeAll(async () => {
  keycloak = await KeycloakLikeServer.start();
  redis = await RedisServer.start();
});

afterAll(async () => {
  await keycloak.close();
  await redis.dispose();
});

beforeEach(async () => {
  ({ storage } = await redisStorageAt(redis.url, `slow-${Date.now()}:`));
  logger = new CapturingLogger();
  refresher = new SessionRefresher({
    store: storage.sessions,
    logger,
    now: Date.now,
    idleTtlSeconds: 3600,
    minAccessTokenValiditySeconds: 240,
    keycloakCheckIntervalSeconds: 60,
  });
  keycloak.intercept = undefined;
});

afterEach(() => storage.close());

const client = () => keycloak.client({ timeoutMs: TIMEOUT_MS });
const isRefreshGrant = (call: RecordedCall) =>
  call.endpoint === 'token' &&
  call.params.get('grant_type') === 'refresh_token';

/** The next refresh grant is answered (and only then granted) after `ms`. */
function answerNextRefreshAfter(ms: number) {
  keycloak.intercept = async call => {
    if (isRefreshGrant(call)) {
      keycloak.intercept = undefined;
      await sleep(ms);
    }
    return undefined;
  };
}

/** A session Keycloak last confirmed 2 minutes ago: a refresh must ask it. */
async function staleSession() {
  const tokens = await keycloak.signIn(client());
  const now = Date.now();
  const record = {
    ...newSessionRecord(tokens, {}, now, undefined),
    refreshedAt: now - 120_000,
  };
  const { handle } = await storage.sessions.createSession(record, 3_600_000);
  return { handle, record };
}

async function eventually(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`gave up waiting until ${what}`);
}

const refresh = (handle: string, lockLeaseMs = TIMEOUT_MS + 5000) =>
  refresher.refresh(handle, client(), {
    lockLeaseMs,
    answerWithinMs: TIMEOUT_MS,
  });

it('stores a refresh Keycloak answers after the timeout, and the next refresh uses it', async () => {
  const { handle, record } = await staleSession();
  answerNextRefreshAfter(2.5 * TIMEOUT_MS);

  // the browser is answered at the timeout, as before
  await expect(refresh(handle)).rejects.toThrow(KeycloakUnavailableError);

  // Keycloak's late answer is kept: the rotated token set is stored
  await eventually(async () => {
    const stored = await storage.sessions.getSession(handle);
    return stored?.record.refreshToken !== record.refreshToken;
  }, 'the late answer is stored');
  const grants = keycloak.count('token', 'refresh_token');

  // the next page load is served from it: no reuse of the spent token
  const next = await refresh(handle);
  expect(next.source).toBe('fresh');
  expect(keycloak.count('token', 'refresh_token')).toBe(grants);
  expect(logger.lines.filter(line => line.level === 'warn')).toEqual([]);
});

it('keeps the refresh lock while the Keycloak call is in flight', async () => {
  const { handle } = await staleSession();
  const grantsBefore = keycloak.calls.filter(isRefreshGrant).length;
  const leaseMs = 600; // far shorter than Keycloak's answer
  answerNextRefreshAfter(2.5 * TIMEOUT_MS);
  const first = refresh(handle, leaseMs).catch(error => error);

  // well past the lease, another request still finds the lock held
  await sleep(1500);
  const read = await storage.sessions.readForRefresh(handle, { leaseMs });
  expect(read.kind).toBe('lockedByOther');

  expect(await first).toBeInstanceOf(KeycloakUnavailableError);
  await eventually(async () => {
    const again = await storage.sessions.readForRefresh(handle, { leaseMs });
    if (again.kind === 'lockedByUs') {
      await storage.sessions.releaseRefreshLock(handle, again.lockToken);
    }
    return again.kind === 'lockedByUs';
  }, 'the lock is released after the answer');
  // one grant in all: nobody refreshed with the spent token meanwhile
  expect(keycloak.calls.filter(isRefreshGrant)).toHaveLength(grantsBefore + 1);
});

describe('Redis failing while Keycloak grants (the soak: one replica cut off from Redis)', () => {
  /** The store, but its next `failures` updates time out, as over a partition. */
  function storeFailingUpdates(failures: number) {
    const store = storage.sessions;
    let left = failures;
    const updates: boolean[] = [];
    const flaky = new Proxy(store, {
      get(target, property) {
        if (property === 'updateSession') {
          return async (...args: Parameters<typeof store.updateSession>) => {
            if (left-- > 0) {
              updates.push(false);
              throw new SessionStoreUnavailableError(
                'Session store (Redis) unavailable while updating the session: Command timed out',
              );
            }
            updates.push(true);
            return target.updateSession(...args);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { flaky, updates };
  }

  it('keeps writing the tokens Keycloak granted until Redis takes them, within the lock lease', async () => {
    const { handle, record } = await staleSession();
    const { flaky, updates } = storeFailingUpdates(2);
    const withFlakyStore = new SessionRefresher({
      store: flaky,
      logger,
      now: Date.now,
      idleTtlSeconds: 3600,
      minAccessTokenValiditySeconds: 240,
      keycloakCheckIntervalSeconds: 60,
    });
    const grants = keycloak.count('token', 'refresh_token');

    const outcome = await withFlakyStore.refresh(handle, client(), {
      lockLeaseMs: 30_000,
      answerWithinMs: 5_000,
    });

    expect(outcome.source).toBe('keycloak');
    expect(updates).toEqual([false, false, true]);
    const stored = await storage.sessions.getSession(handle);
    expect(stored?.record.refreshToken).toBe(
      outcome.session.record.refreshToken,
    );
    expect(stored?.record.refreshToken).not.toBe(record.refreshToken);
    expect(keycloak.count('token', 'refresh_token')).toBe(grants + 1);
  });

  it("writes no more once a write that failed has landed (a WAIT no replica acknowledged): the lock it released may be another request's by then", async () => {
    const { handle } = await staleSession();
    const store = storage.sessions;
    let writes = 0;
    // the write is on the master, only the replica's acknowledgement failed
    const landsThenFails = new Proxy(store, {
      get(target, property) {
        if (property === 'updateSession') {
          return async (...args: Parameters<typeof store.updateSession>) => {
            writes++;
            await target.updateSession(...args);
            throw new SessionStoreUnavailableError(
              'Session store (Redis) unavailable while updating the session: no replica acknowledged the write within 1000 ms (durability: replicated)',
            );
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const refresherOnIt = new SessionRefresher({
      store: landsThenFails,
      logger,
      now: Date.now,
      idleTtlSeconds: 3600,
      minAccessTokenValiditySeconds: 240,
      keycloakCheckIntervalSeconds: 60,
    });

    await expect(
      refresherOnIt.refresh(handle, client(), {
        lockLeaseMs: 30_000,
        answerWithinMs: 5_000,
      }),
    ).rejects.toThrow(SessionStoreUnavailableError);
    expect(writes).toBe(1);
  });

  it('answers a request waiting for another one at answerWithinMs, not at the end of the lease', async () => {
    const { handle, record } = await staleSession();
    answerNextRefreshAfter(3 * TIMEOUT_MS);
    const holder = refresh(handle, 30_000).catch(error => error);
    await sleep(200);

    // the waiter gives up before the holder's answer is stored
    await expect(refresh(handle, 30_000)).rejects.toThrow(
      KeycloakUnavailableError,
    );
    expect(
      (await storage.sessions.getSession(handle))?.record.refreshToken,
    ).toBe(record.refreshToken);

    expect(await holder).toBeInstanceOf(KeycloakUnavailableError);
    await eventually(async () => {
      const stored = await storage.sessions.getSession(handle);
      return stored?.record.refreshToken !== record.refreshToken;
    }, "the holder stores Keycloak's late answer");
  });
});
