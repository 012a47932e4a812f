/* eslint-disable jest/no-export */
import { createSessionHandle, isWellFormedHandle } from './sessionHandle';
import type {
  SessionQueries,
  SessionRecord,
  SessionStorage,
  SessionStore,
} from './types';

const SAMPLE_SUB = 'f1a2b3c4-0000-4000-8000-000000000001';

/** A well-formed handle of `sub` that no store issued. */
export const newHandle = (sub: string = SAMPLE_SUB) => createSessionHandle(sub);

export function sampleRecord(
  overrides: Partial<SessionRecord> = {},
): SessionRecord {
  const now = Date.now();
  return {
    sub: SAMPLE_SUB,
    sid: 'keycloak-session-1',
    refreshToken: 'refresh-token-value',
    accessToken: 'access-token-value',
    idToken: 'id.token.value',
    tokenType: 'Bearer',
    scope: 'openid profile email',
    accessTokenExpiresAt: now + 300_000,
    refreshTokenExpiresAt: now + 1_800_000,
    createdAt: now,
    refreshedAt: now,
    ...overrides,
  };
}

/** The behaviour every SessionStore must have; run against each implementation. */
export function describeSessionStoreContract(
  name: string,
  setup: () => Promise<SessionStorage>,
) {
  describe(`${name} (SessionStore contract)`, () => {
    let storage: SessionStorage;
    let store: SessionStore;
    let queries: SessionQueries;

    beforeEach(async () => {
      storage = await setup();
      store = storage.sessions;
      queries = storage.queries;
    });

    it('creates, reads, updates and deletes a session', async () => {
      const record = sampleRecord();
      const { handle } = await store.createSession(record, 60_000);
      expect(await store.getSession(handle)).toEqual({ record });

      const next = {
        ...record,
        accessToken: 'rotated',
        refreshedAt: record.refreshedAt + 1,
      };
      expect(await store.updateSession(handle, next, 120_000)).toBe(true);
      expect((await store.getSession(handle))?.record).toEqual(next);

      expect(await store.deleteSession(handle)).toBe(true);
      expect(await store.getSession(handle)).toBeUndefined();
      expect(await store.deleteSession(handle)).toBe(false);
    });

    it('does not resurrect a deleted session on update', async () => {
      const { handle } = await store.createSession(sampleRecord(), 60_000);
      await store.deleteSession(handle);
      expect(await store.updateSession(handle, sampleRecord(), 60_000)).toBe(
        false,
      );
      expect(await store.getSession(handle)).toBeUndefined();
    });

    it('records the entity ref without touching the record', async () => {
      const record = sampleRecord();
      const { handle } = await store.createSession(record, 60_000);
      await store.setEntityRef(handle, 'user:default/alice');
      expect(await store.getSession(handle)).toEqual({
        record,
        entityRef: 'user:default/alice',
      });
      // on a missing session it writes nothing
      const gone = newHandle();
      await store.setEntityRef(gone, 'user:default/alice');
      expect(await store.getSession(gone)).toBeUndefined();
    });

    it('slides the TTL on update', async () => {
      // wide margins: only a 400 ms stall before the update can break it
      const { handle } = await store.createSession(sampleRecord(), 1_000);
      await new Promise(r => setTimeout(r, 600));
      expect(await store.updateSession(handle, sampleRecord(), 10_000)).toBe(
        true,
      );
      await new Promise(r => setTimeout(r, 600)); // past the first TTL
      expect(await store.getSession(handle)).toBeDefined();
    });

    it('expires sessions after their TTL', async () => {
      const { handle } = await store.createSession(sampleRecord(), 50);
      await new Promise(r => setTimeout(r, 120));
      expect(await store.getSession(handle)).toBeUndefined();
    });

    it('hands out a login transaction exactly once', async () => {
      const tx = { codeVerifier: 'v', nonce: 'n', createdAt: 1 };
      await store.putLoginTransaction('state-1', tx, 60_000);
      // looking does not consume it
      expect(await store.hasLoginTransaction('state-1')).toBe(true);
      expect(await store.hasLoginTransaction('state-1')).toBe(true);
      const results = await Promise.all([
        store.takeLoginTransaction('state-1'),
        store.takeLoginTransaction('state-1'),
      ]);
      expect(results.filter(Boolean)).toEqual([tx]);
      expect(await store.takeLoginTransaction('unknown')).toBeUndefined();
      expect(await store.hasLoginTransaction('state-1')).toBe(false);
    });

    it('issues a new unguessable handle for every session', async () => {
      const record = sampleRecord();
      const a = await store.createSession(record, 60_000);
      const b = await store.createSession(record, 60_000);
      expect(a.handle).not.toBe(b.handle);
      for (const { handle } of [a, b]) {
        expect(isWellFormedHandle(handle)).toBe(true);
        // 256 random bits after the user tag
        expect(Buffer.from(handle.split('.')[1], 'base64url')).toHaveLength(32);
      }
      expect((await store.getSession(a.handle))?.record).toEqual(record);
    });

    it('hands the refresh lock to one holder at a time', async () => {
      const record = sampleRecord();
      const { handle } = await store.createSession(record, 60_000);

      const lease = { leaseMs: 10_000 };
      const first = await store.readForRefresh(handle, lease);
      expect(first).toEqual({
        kind: 'lockedByUs',
        session: { record },
        lockToken: expect.any(String),
      });
      if (first.kind !== 'lockedByUs') throw new Error('no lock');
      // another caller gets the session to wait on, but no lock
      expect(await store.readForRefresh(handle, lease)).toEqual({
        kind: 'lockedByOther',
        session: { record },
      });

      await store.releaseRefreshLock(handle, 'not-the-owner');
      expect((await store.readForRefresh(handle, lease)).kind).toBe(
        'lockedByOther',
      );

      // writing the refreshed record releases the lock in the same step
      const next = { ...record, refreshToken: 'rotated' };
      expect(
        await store.updateSession(handle, next, 60_000, {
          lockToken: first.lockToken,
        }),
      ).toBe(true);
      const second = await store.readForRefresh(handle, lease);
      if (second.kind !== 'lockedByUs') throw new Error('no lock');
      expect(second.session.record.refreshToken).toBe('rotated');
      await store.releaseRefreshLock(handle, second.lockToken);
      expect((await store.readForRefresh(handle, lease)).kind).toBe(
        'lockedByUs',
      );
    });

    it('serves a fresh access token without taking the lock', async () => {
      const expiresAt = Date.now() + 300_000;
      const refreshedAt = Date.now() - 1000;
      const { handle } = await store.createSession(
        sampleRecord({ accessTokenExpiresAt: expiresAt, refreshedAt }),
        60_000,
      );
      const fresh = await store.readForRefresh(handle, {
        leaseMs: 10_000,
        freshness: {
          accessTokenValidUntil: expiresAt - 1,
          confirmedSince: refreshedAt,
        },
      });
      expect(fresh.kind).toBe('fresh');
      const stale = await store.readForRefresh(handle, {
        leaseMs: 10_000,
        freshness: {
          accessTokenValidUntil: expiresAt + 1,
          confirmedSince: refreshedAt,
        },
      });
      expect(stale.kind).toBe('lockedByUs');
    });

    it('does not serve a valid access token that Keycloak has not confirmed recently', async () => {
      const expiresAt = Date.now() + 3_600_000;
      const refreshedAt = Date.now() - 61_000;
      const { handle } = await store.createSession(
        sampleRecord({ accessTokenExpiresAt: expiresAt, refreshedAt }),
        60_000,
      );
      const unconfirmed = await store.readForRefresh(handle, {
        leaseMs: 10_000,
        freshness: {
          accessTokenValidUntil: Date.now() + 240_000,
          confirmedSince: refreshedAt + 1,
        },
      });
      if (unconfirmed.kind !== 'lockedByUs') throw new Error('no lock');
      await store.releaseRefreshLock(handle, unconfirmed.lockToken);

      // a refresh grant confirms it again
      expect(
        await store.updateSession(
          handle,
          sampleRecord({
            accessTokenExpiresAt: expiresAt,
            refreshedAt: Date.now(),
          }),
          60_000,
        ),
      ).toBe(true);
      const confirmed = await store.readForRefresh(handle, {
        leaseMs: 10_000,
        freshness: {
          accessTokenValidUntil: Date.now() + 240_000,
          confirmedSince: refreshedAt + 1,
        },
      });
      expect(confirmed.kind).toBe('fresh');
    });

    it('takes no lock for a missing session', async () => {
      expect(
        await store.readForRefresh(newHandle(), { leaseMs: 10_000 }),
      ).toEqual({ kind: 'missing' });
    });

    it('lets a crashed holder block only for its lease', async () => {
      const { handle } = await store.createSession(sampleRecord(), 60_000);
      const take = () => store.readForRefresh(handle, { leaseMs: 50 });
      expect((await take()).kind).toBe('lockedByUs');
      expect((await take()).kind).toBe('lockedByOther');
      await new Promise(r => setTimeout(r, 120));
      expect((await take()).kind).toBe('lockedByUs');
    });

    it('keeps sessions of different handles apart', async () => {
      const { handle: a } = await store.createSession(
        sampleRecord({ sub: 'a' }),
        60_000,
      );
      const { handle: b } = await store.createSession(
        sampleRecord({ sub: 'b' }),
        60_000,
      );
      await store.deleteSession(a);
      expect((await store.getSession(b))?.record.sub).toBe('b');
    });

    describe('per-user sessions', () => {
      const sessionOf = async (
        sub: string,
        overrides: Partial<SessionRecord> = {},
        options: { maxSessionsPerUser?: number; userAgent?: string } = {},
      ) => {
        return store.createSession(
          sampleRecord({ sub, ...overrides }),
          60_000,
          {
            maxSessionsPerUser: options.maxSessionsPerUser,
            metadata: { userAgent: options.userAgent },
          },
        );
      };

      it('evicts the oldest sessions beyond maxSessionsPerUser', async () => {
        const sub = `evict-${Math.random()}`;
        const first = await sessionOf(sub, { createdAt: 1000 });
        const second = await sessionOf(sub, { createdAt: 2000 });
        const other = await sessionOf(`other-${sub}`, { createdAt: 500 });
        const third = await sessionOf(
          sub,
          { createdAt: 3000 },
          {
            maxSessionsPerUser: 2,
          },
        );
        expect(third.evicted).toBe(1);
        expect(await store.getSession(first.handle)).toBeUndefined();
        expect(await store.getSession(second.handle)).toBeDefined();
        expect(await store.getSession(third.handle)).toBeDefined();
        expect(await store.getSession(other.handle)).toBeDefined();
      });

      it('deletes by sub, by sid and by entity ref, and nothing else', async () => {
        const sub = `logout-${Math.random()}`;
        const a = await sessionOf(sub, { sid: 'sid-a' });
        const b = await sessionOf(sub, { sid: 'sid-b' });
        const c = await sessionOf(sub, { sid: 'sid-c' });
        const other = await sessionOf(`other-${sub}`, { sid: 'sid-a' });
        await store.setEntityRef(c.handle, 'user:default/carol');

        expect(await queries.deleteSessionsOf({ sub, sid: 'sid-a' })).toBe(1);
        expect(await store.getSession(a.handle)).toBeUndefined();
        expect(await store.getSession(b.handle)).toBeDefined();
        expect(await store.getSession(other.handle)).toBeDefined();

        expect(await queries.deleteSessionsOf({ sid: 'sid-b' })).toBe(1);
        expect(await store.getSession(b.handle)).toBeUndefined();

        expect(
          await queries.deleteSessionsOf({ entityRef: 'user:default/carol' }),
        ).toBe(1);
        expect(await store.getSession(c.handle)).toBeUndefined();

        const d = await sessionOf(sub);
        expect(await queries.deleteSessionsOf({ sub })).toBe(1);
        expect(await store.getSession(d.handle)).toBeUndefined();
        expect(await store.getSession(other.handle)).toBeDefined();
        expect(await queries.deleteSessionsOf({ sub })).toBe(0);
      });

      it('lists, counts, extends and revokes sessions without showing tokens', async () => {
        const before = await queries.countSessions();
        const sub = `admin-${Math.random()}`;
        const older = await sessionOf(
          sub,
          { createdAt: 1000 },
          {
            userAgent: 'Firefox',
          },
        );
        await sessionOf(sub, { createdAt: 2000 });
        await store.setEntityRef(older.handle, 'user:default/dave');
        expect(await queries.countSessions()).toBe(before + 2);

        const list = await queries.listSessions({ sub });
        expect(list).toEqual([
          {
            id: expect.stringMatching(/^[\w-]{16}\.[\w-]{43}$/),
            sub,
            entityRef: 'user:default/dave',
            createdAt: 1000,
            refreshedAt: expect.any(Number),
            expiresAt: expect.any(Number),
            userAgent: 'Firefox',
          },
          expect.objectContaining({ sub, createdAt: 2000 }),
        ]);
        const text = JSON.stringify(list);
        expect(text).not.toContain('token-value');
        expect(text).not.toContain(older.handle);
        expect(
          await queries.listSessions({ entityRef: 'user:default/dave' }),
        ).toEqual([{ ...list[0], expiresAt: expect.any(Number) }]);

        expect(await queries.extendSessionById(list[0].id, 3_600_000)).toBe(
          true,
        );
        const [extended] = await queries.listSessions({ sub });
        expect(extended.expiresAt).toBeGreaterThan(Date.now() + 3_500_000);

        expect(await queries.deleteSessionById(list[0].id)).toBe(true);
        expect(await queries.deleteSessionById(list[0].id)).toBe(false);
        expect(await store.getSession(older.handle)).toBeUndefined();
        expect(await queries.countSessions()).toBe(before + 1);
        expect(await queries.deleteSessionById('not-an-id')).toBe(false);
        expect(await queries.extendSessionById('not-an-id', 1000)).toBe(false);
      });

      it('remembers a logout token id once', async () => {
        const jti = `jti-${Math.random()}`;
        expect(await storage.logoutTokens.markSeen(jti, 60_000)).toBe(true);
        expect(await storage.logoutTokens.markSeen(jti, 60_000)).toBe(false);
      });
    });
  });
}
