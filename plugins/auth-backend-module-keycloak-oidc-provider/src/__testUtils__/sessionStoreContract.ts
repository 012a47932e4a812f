/* eslint-disable jest/no-export */
import {
  createSessionHandle,
  isWellFormedHandle,
} from '../session/sessionHandle';
import type {
  SessionRecord,
  SessionStorage,
  SessionStore,
} from '../session/types';

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

    beforeEach(async () => {
      storage = await setup();
      store = storage.sessions;
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
      const tx = {
        codeVerifier: 'v',
        nonce: 'n',
        browserBinding: 'b',
        createdAt: 1,
      };
      await store.putLoginTransaction('state-1', tx, 60_000, 100);
      // looking does not consume it
      expect(await store.peekLoginTransaction('state-1')).toEqual(tx);
      expect(await store.peekLoginTransaction('state-1')).toEqual(tx);
      const results = await Promise.all([
        store.takeLoginTransaction('state-1'),
        store.takeLoginTransaction('state-1'),
      ]);
      expect(results.filter(Boolean)).toEqual([tx]);
      expect(await store.takeLoginTransaction('unknown')).toBeUndefined();
      expect(await store.peekLoginTransaction('state-1')).toBeUndefined();
    });

    it('stores no more pending logins than the budget', async () => {
      const tx = {
        codeVerifier: 'v',
        nonce: 'n',
        browserBinding: 'b',
        createdAt: 1,
      };
      const put = (state: string) =>
        store.putLoginTransaction(state, tx, 60_000, 3);
      expect(await put('budget-1')).toBe(true);
      expect(await put('budget-2')).toBe(true);
      expect(await put('budget-3')).toBe(true);
      expect(await put('budget-4')).toBe(false);
      expect(await store.peekLoginTransaction('budget-4')).toBeUndefined();
      expect(await store.peekLoginTransaction('budget-3')).toEqual(tx);
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
      if (stale.kind !== 'lockedByUs') throw new Error('no lock');
      await store.releaseRefreshLock(handle, stale.lockToken);
      // the bounds of isFresh (refresh/freshness.ts), which the Redis
      // script mirrors: valid strictly after, confirmed at or after
      const atBounds = await store.readForRefresh(handle, {
        leaseMs: 10_000,
        freshness: {
          accessTokenValidUntil: expiresAt,
          confirmedSince: refreshedAt,
        },
      });
      expect(atBounds.kind).toBe('lockedByUs');
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

    it('renews a lease only for the lock owner', async () => {
      const { handle } = await store.createSession(sampleRecord(), 60_000);
      const first = await store.readForRefresh(handle, { leaseMs: 100 });
      if (first.kind !== 'lockedByUs') throw new Error('no lock');
      expect(
        await store.renewRefreshLock(handle, 'not-the-owner', 60_000),
      ).toBe(false);
      expect(
        await store.renewRefreshLock(handle, first.lockToken, 60_000),
      ).toBe(true);
      await new Promise(r => setTimeout(r, 200)); // past the first lease
      expect((await store.readForRefresh(handle, { leaseMs: 100 })).kind).toBe(
        'lockedByOther',
      );
      await store.releaseRefreshLock(handle, first.lockToken);
      expect(
        await store.renewRefreshLock(handle, first.lockToken, 60_000),
      ).toBe(false);
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
  });
}
