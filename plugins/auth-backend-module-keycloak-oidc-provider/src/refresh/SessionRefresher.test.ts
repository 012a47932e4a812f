import { CapturingLogger, RedisServer } from '@redis-session/test-support';
import { json, KeycloakLikeServer } from '../__testUtils__/KeycloakLikeServer';
import {
  KeycloakSessionEndedError,
  KeycloakUnavailableError,
  SessionEndedError,
} from '../errors';
import type { KeycloakOidcClient } from '../oidc/KeycloakOidcClient';
import {
  newSessionRecord,
  refreshedSessionRecord,
} from '../oidc/sessionRecordFromTokens';
import { memorySessionStorage } from '../session/memory/memorySessionStorage';
import { redisStorageAt } from '../__testUtils__/connectedRedis';
import { newHandle } from '../__testUtils__/sessionStoreContract';
import type { SessionStorage, SessionStore } from '../session/types';
import { SessionRefresher } from './SessionRefresher';

const LEASE_MS = 5_000;
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

let keycloak: KeycloakLikeServer;
let client: KeycloakOidcClient;
let redis: RedisServer | undefined;
let prefixes = 0;

beforeAll(async () => {
  keycloak = await KeycloakLikeServer.start();
  client = keycloak.client();
});

afterAll(async () => {
  await keycloak.close();
  await redis?.dispose();
});

/** Each store, and what is in it (to show that nothing comes back). */
const STORES: [
  string,
  () => Promise<[SessionStorage, () => Promise<unknown>]>,
][] = [
  [
    'memory store',
    async () => {
      const storage = memorySessionStorage();
      return [storage, () => storage.queries.countSessions()];
    },
  ],
  [
    'Redis store',
    async () => {
      redis ??= await RedisServer.start();
      const prefix = `refresher-${++prefixes}:`;
      const { client: redisClient, storage } = await redisStorageAt(
        redis.url,
        prefix,
      );
      const keys = async () => (await redisClient.keys(`${prefix}*`)).sort();
      return [storage, keys];
    },
  ],
];

describe.each(STORES)('SessionRefresher on the %s', (_store, openStorage) => {
  let storage: SessionStorage;
  let contents: () => Promise<unknown>;
  let store: SessionStore;
  let logger: CapturingLogger;
  let lockWaits: number[];
  let refresher: SessionRefresher;

  beforeEach(async () => {
    [storage, contents] = await openStorage();
    store = storage.sessions;
    logger = new CapturingLogger();
    lockWaits = [];
    refresher = new SessionRefresher({
      store,
      logger,
      now: Date.now,
      idleTtlSeconds: 3600,
      minAccessTokenValiditySeconds: 240,
      keycloakCheckIntervalSeconds: 60,
      onLockWait: ms => lockWaits.push(ms),
    });
    keycloak.intercept = undefined;
  });

  afterEach(() => storage.close());

  const refresh = (handle: string, via = client) =>
    refresher.refresh(handle, via, {
      lockLeaseMs: LEASE_MS,
      answerWithinMs: LEASE_MS,
    });
  const refreshGrants = () => keycloak.count('token', 'refresh_token');

  /**
   * A session as a login at `idp` stores it. By default Keycloak last
   * confirmed it 2 minutes ago: stale (over the 60 s check interval), so a
   * refresh must ask Keycloak.
   */
  async function signedIn({
    confirmedAgoMs = 120_000,
    accessTokenValidMs = 300_000,
    idp = keycloak,
    via = client,
  } = {}) {
    const tokens = await idp.signIn(via);
    const now = Date.now();
    const record = {
      ...newSessionRecord(tokens, {}, now, undefined),
      refreshedAt: now - confirmedAgoMs,
      accessTokenExpiresAt: now + accessTokenValidMs,
    };
    const { handle } = await store.createSession(record, 3_600_000);
    return { handle, record, sid: tokens.claims()!.sid as string };
  }

  /** Whether a new refresh could take the lock now (it is given back). */
  async function lockIsFree(handle: string) {
    const read = await store.readForRefresh(handle, { leaseMs: LEASE_MS });
    if (read.kind === 'lockedByUs') {
      await store.releaseRefreshLock(handle, read.lockToken);
    }
    return read.kind === 'lockedByUs';
  }

  it('serves a fresh session from the store without calling Keycloak', async () => {
    const { handle, record } = await signedIn({ confirmedAgoMs: 0 });
    const before = refreshGrants();
    const outcome = await refresh(handle);
    expect(outcome.source).toBe('fresh');
    expect(outcome.session.record).toEqual(record);
    expect(refreshGrants()).toBe(before);
  });

  it.each([
    ['Keycloak confirmed it over 60 s ago', { confirmedAgoMs: 120_000 }],
    [
      'its access token expires within 240 s',
      { confirmedAgoMs: 0, accessTokenValidMs: 100_000 },
    ],
  ])(
    'refreshes a session that is stale because %s: one token call, new tokens stored, lock released',
    async (_, age) => {
      const { handle, record } = await signedIn(age);
      const before = refreshGrants();
      const outcome = await refresh(handle);
      expect(outcome.source).toBe('keycloak');
      expect(refreshGrants()).toBe(before + 1);
      // Keycloak was asked with the stored refresh token and rotated it
      const grant = keycloak.calls.filter(c => c.endpoint === 'token').at(-1)!;
      expect(grant.params.get('refresh_token')).toBe(record.refreshToken);
      expect(outcome.session.record.refreshToken).not.toBe(record.refreshToken);
      expect(outcome.claims?.sub).toBe(record.sub);
      expect((await store.getSession(handle))?.record).toEqual(
        outcome.session.record,
      );
      expect(await lockIsFree(handle)).toBe(true);
    },
  );

  it('lets one of two concurrent refreshes call Keycloak; the other waits and gets its tokens', async () => {
    const { handle, record } = await signedIn();
    // hold Keycloak's answer so the second request finds the lock taken
    keycloak.intercept = async () => void (await sleep(150));
    const before = refreshGrants();
    const outcomes = await Promise.all([refresh(handle), refresh(handle)]);
    expect(refreshGrants()).toBe(before + 1);
    expect(outcomes.map(o => o.source).sort()).toEqual(['keycloak', 'waited']);
    const [a, b] = outcomes.map(o => o.session.record.refreshToken);
    expect(a).toBe(b);
    expect(a).not.toBe(record.refreshToken);
    expect((await store.getSession(handle))?.record.refreshToken).toBe(a);
    expect(lockWaits).toHaveLength(1);
  });

  describe('when Keycloak answers invalid_grant', () => {
    it('deletes the session, throws KeycloakSessionEndedError and logs one warning with the reason', async () => {
      const { handle, record, sid } = await signedIn();
      keycloak.endSession(sid);
      const error = await refresh(handle).catch(e => e);
      expect(error).toBeInstanceOf(KeycloakSessionEndedError);
      expect(error.keycloakReason).toBe('Session not active');
      expect(error.message).toBe(
        'Keycloak session ended (Session not active); sign in again',
      );
      expect(await store.getSession(handle)).toBeUndefined();
      const warnings = logger.lines.filter(l => l.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0].message).toContain(
        'invalid_grant "Session not active"',
      );
      expect(warnings[0].meta).toMatchObject({
        keycloakSub: record.sub,
        keycloakErrorDescription: 'Session not active',
      });
    });

    it('uses the newer token set when another holder rotated the token meanwhile, and keeps the session', async () => {
      const { handle, record } = await signedIn();
      let rival: string | undefined;
      // while our call is in flight, another instance (whose lease outlived
      // ours) refreshes first with the same token and stores the result:
      // Keycloak then refuses ours as a reused token
      keycloak.intercept = async () => {
        if (rival) return undefined;
        rival = 'pending';
        const tokens = await client.refresh(record.refreshToken);
        const next = refreshedSessionRecord(record, tokens, Date.now());
        await store.updateSession(handle, next, 3_600_000);
        rival = next.refreshToken;
        return undefined;
      };
      const outcome = await refresh(handle);
      expect(outcome.source).toBe('waited');
      expect(outcome.session.record.refreshToken).toBe(rival);
      expect((await store.getSession(handle))?.record.refreshToken).toBe(rival);
      expect(logger.lines.filter(l => l.level === 'warn')).toEqual([]);
      expect(await lockIsFree(handle)).toBe(true);
    });
  });

  describe('when Keycloak is unavailable', () => {
    it('keeps the session and the lock free on a 503, so a later refresh succeeds', async () => {
      const { handle, record } = await signedIn();
      keycloak.intercept = call =>
        call.endpoint === 'token'
          ? json(503, { error: 'temporarily_unavailable' })
          : undefined;
      const error = await refresh(handle).catch(e => e);
      expect(error).toBeInstanceOf(KeycloakUnavailableError);
      expect(error.message).toMatch(
        /^Keycloak token endpoint failed during refresh: .*HTTP 503/,
      );
      expect((await store.getSession(handle))?.record).toEqual(record);
      expect(await lockIsFree(handle)).toBe(true);

      keycloak.intercept = undefined;
      expect((await refresh(handle)).source).toBe('keycloak');
    });

    it('keeps the session and the lock free when the connection is refused', async () => {
      const down = await KeycloakLikeServer.start();
      down.keepAlive = false; // no pooled socket to the stopped server
      const downClient = down.client();
      const { handle, record } = await signedIn({ idp: down, via: downClient });
      await down.close(); // discovery done; the token endpoint is gone now
      const error = await refresh(handle, downClient).catch(e => e);
      expect(error).toBeInstanceOf(KeycloakUnavailableError);
      expect(error.message).toMatch(
        /^Keycloak token endpoint failed during refresh: .*ECONNREFUSED/,
      );
      expect((await store.getSession(handle))?.record).toEqual(record);
      expect(await lockIsFree(handle)).toBe(true);
    });
  });

  describe('when the session is gone', () => {
    it('throws SessionEndedError for an unknown handle, without calling Keycloak', async () => {
      const before = refreshGrants();
      const error = await refresh(newHandle()).catch(e => e);
      expect(error).toBeInstanceOf(SessionEndedError);
      expect(error.message).toBe('Session not found or expired; sign in again');
      expect(refreshGrants()).toBe(before);
    });

    it('throws SessionEndedError and brings nothing back when it is deleted during the refresh', async () => {
      const { handle } = await signedIn();
      let afterSignOut: unknown;
      keycloak.intercept = async () => {
        await store.deleteSession(handle); // a sign-out on another tab
        afterSignOut = await contents();
        return undefined;
      };
      const error = await refresh(handle).catch(e => e);
      expect(error).toBeInstanceOf(SessionEndedError);
      expect(error.message).toBe(
        'Session was signed out while refreshing; sign in again',
      );
      expect(await store.getSession(handle)).toBeUndefined();
      expect(await contents()).toEqual(afterSignOut);
      keycloak.intercept = undefined;
      await expect(refresh(handle)).rejects.toThrow(
        'Session not found or expired; sign in again',
      );
    });
  });
});
