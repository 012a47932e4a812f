/* eslint-disable jest/no-export */
import { sampleRecord } from './sessionStoreContract';
import type {
  SessionQueries,
  SessionRecord,
  SessionStorage,
  SessionStore,
} from '../session/types';

/** A real browser's user agent, longer than one Redis listpack entry */
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/**
 * The behaviour every storage must have for sessions by owner and by admin
 * id (back-channel logout, the admin API); run against each implementation.
 */
export function describeSessionQueriesContract(
  name: string,
  setup: () => Promise<SessionStorage>,
) {
  describe(`${name} (SessionQueries contract)`, () => {
    let storage: SessionStorage;
    let store: SessionStore;
    let queries: SessionQueries;

    beforeEach(async () => {
      storage = await setup();
      store = storage.sessions;
      queries = storage.queries;
    });

    const sessionOf = async (
      sub: string,
      overrides: Partial<SessionRecord> = {},
      options: { maxSessionsPerUser?: number; userAgent?: string } = {},
    ) => {
      return store.createSession(sampleRecord({ sub, ...overrides }), 60_000, {
        maxSessionsPerUser: options.maxSessionsPerUser,
        metadata: { userAgent: options.userAgent },
      });
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
        { userAgent: CHROME },
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
          userAgent: CHROME,
        },
        expect.objectContaining({ sub, createdAt: 2000 }),
      ]);
      const text = JSON.stringify(list);
      expect(text).not.toContain('token-value');
      expect(text).not.toContain(older.handle);
      expect(
        await queries.listSessions({ entityRef: 'user:default/dave' }),
      ).toEqual([{ ...list[0], expiresAt: expect.any(Number) }]);

      expect(await queries.extendSessionById(list[0].id, 3_600_000)).toBe(true);
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
}
