/* eslint-disable jest/no-export */
import { createSessionHandle } from './sessionHandle';
import type { SessionRecord, SessionStore } from './types';

export function sampleRecord(
  overrides: Partial<SessionRecord> = {},
): SessionRecord {
  const now = Date.now();
  return {
    sub: 'f1a2b3c4-0000-4000-8000-000000000001',
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
  setup: () => Promise<SessionStore>,
) {
  describe(`${name} (SessionStore contract)`, () => {
    let store: SessionStore;

    beforeEach(async () => {
      store = await setup();
    });

    it('creates, reads, updates and deletes a session', async () => {
      const handle = createSessionHandle();
      const record = sampleRecord();
      await store.createSession(handle, record, 60_000);
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
      const handle = createSessionHandle();
      await store.createSession(handle, sampleRecord(), 60_000);
      await store.deleteSession(handle);
      expect(await store.updateSession(handle, sampleRecord(), 60_000)).toBe(
        false,
      );
      expect(await store.getSession(handle)).toBeUndefined();
    });

    it('records the entity ref without touching the record', async () => {
      const handle = createSessionHandle();
      const record = sampleRecord();
      await store.createSession(handle, record, 60_000);
      await store.setEntityRef(handle, 'user:default/alice');
      expect(await store.getSession(handle)).toEqual({
        record,
        entityRef: 'user:default/alice',
      });
      // on a missing session it writes nothing
      const gone = createSessionHandle();
      await store.setEntityRef(gone, 'user:default/alice');
      expect(await store.getSession(gone)).toBeUndefined();
    });

    it('slides the TTL on update', async () => {
      const handle = createSessionHandle();
      await store.createSession(handle, sampleRecord(), 80);
      await new Promise(r => setTimeout(r, 50));
      expect(await store.updateSession(handle, sampleRecord(), 200)).toBe(true);
      await new Promise(r => setTimeout(r, 60));
      expect(await store.getSession(handle)).toBeDefined();
    });

    it('expires sessions after their TTL', async () => {
      const handle = createSessionHandle();
      await store.createSession(handle, sampleRecord(), 50);
      await new Promise(r => setTimeout(r, 120));
      expect(await store.getSession(handle)).toBeUndefined();
    });

    it('hands out a login transaction exactly once', async () => {
      const tx = { codeVerifier: 'v', nonce: 'n', createdAt: 1 };
      await store.putLoginTransaction('state-1', tx, 60_000);
      const results = await Promise.all([
        store.takeLoginTransaction('state-1'),
        store.takeLoginTransaction('state-1'),
      ]);
      expect(results.filter(Boolean)).toEqual([tx]);
      expect(await store.takeLoginTransaction('unknown')).toBeUndefined();
    });

    it('hands the refresh lock to one holder at a time', async () => {
      const handle = createSessionHandle();
      const record = sampleRecord();
      await store.createSession(handle, record, 60_000);

      const first = await store.readForRefresh(handle, { leaseMs: 10_000 });
      expect(first).toEqual({
        session: { record },
        lockToken: expect.any(String),
      });
      // another caller gets the session to wait on, but no lock
      expect(await store.readForRefresh(handle, { leaseMs: 10_000 })).toEqual({
        session: { record },
      });

      await store.releaseRefreshLock(handle, 'not-the-owner');
      expect(
        (await store.readForRefresh(handle, { leaseMs: 10_000 })).lockToken,
      ).toBeUndefined();

      // writing the refreshed record releases the lock in the same step
      const next = { ...record, refreshToken: 'rotated' };
      expect(
        await store.updateSession(handle, next, 60_000, first.lockToken),
      ).toBe(true);
      const second = await store.readForRefresh(handle, { leaseMs: 10_000 });
      expect(second.session?.record.refreshToken).toBe('rotated');
      expect(second.lockToken).toEqual(expect.any(String));
      await store.releaseRefreshLock(handle, second.lockToken!);
      expect(
        (await store.readForRefresh(handle, { leaseMs: 10_000 })).lockToken,
      ).toEqual(expect.any(String));
    });

    it('serves a fresh access token without taking the lock', async () => {
      const handle = createSessionHandle();
      const expiresAt = Date.now() + 300_000;
      await store.createSession(
        handle,
        sampleRecord({ accessTokenExpiresAt: expiresAt }),
        60_000,
      );
      const fresh = await store.readForRefresh(handle, {
        leaseMs: 10_000,
        freshUntil: expiresAt - 1,
      });
      expect(fresh.session).toBeDefined();
      expect(fresh.lockToken).toBeUndefined();
      const stale = await store.readForRefresh(handle, {
        leaseMs: 10_000,
        freshUntil: expiresAt + 1,
      });
      expect(stale.lockToken).toEqual(expect.any(String));
    });

    it('takes no lock for a missing session', async () => {
      expect(
        await store.readForRefresh(createSessionHandle(), { leaseMs: 10_000 }),
      ).toEqual({ session: undefined });
    });

    it('lets a crashed holder block only for its lease', async () => {
      const handle = createSessionHandle();
      await store.createSession(handle, sampleRecord(), 60_000);
      const take = () => store.readForRefresh(handle, { leaseMs: 50 });
      expect((await take()).lockToken).toBeDefined();
      expect((await take()).lockToken).toBeUndefined();
      await new Promise(r => setTimeout(r, 120));
      expect((await take()).lockToken).toBeDefined();
    });

    it('keeps sessions of different handles apart', async () => {
      const [a, b] = [createSessionHandle(), createSessionHandle()];
      await store.createSession(a, sampleRecord({ sub: 'a' }), 60_000);
      await store.createSession(b, sampleRecord({ sub: 'b' }), 60_000);
      await store.deleteSession(a);
      expect((await store.getSession(b))?.record.sub).toBe('b');
    });
  });
}
