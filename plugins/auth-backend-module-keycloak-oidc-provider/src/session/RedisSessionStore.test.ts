import { Redis } from 'ioredis';
import { RedisServer } from '../__testUtils__/RedisServer';
import { createRedisClient } from './createRedisClient';
import { RedisSessionStore } from './RedisSessionStore';
import { sessionKeyId, userTag } from './sessionHandle';
import {
  describeSessionStoreContract,
  newHandle,
  sampleRecord,
} from './sessionStoreContract';
import { SessionStoreUnavailableError } from '../errors';

let server: RedisServer;
let inspector: Redis;
const stores: RedisSessionStore[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  inspector = server.client();
});

afterAll(async () => {
  await Promise.all(stores.map(s => s.close()));
  inspector.disconnect();
  await server.dispose();
});

async function newStore(prefix = 'contract:') {
  const client = createRedisClient({
    mode: 'standalone',
    url: server.url,
    connectTimeoutMs: 2000,
    commandTimeoutMs: 1000,
  });
  await client.connect();
  const store = new RedisSessionStore({ client, prefix });
  stores.push(store);
  return store;
}

describeSessionStoreContract('RedisSessionStore', () => newStore());

describe('RedisSessionStore layout', () => {
  it("keys a session by a hash of its handle inside its user's hash tag", async () => {
    const store = await newStore('layout:');
    const handle = newHandle();
    const record = sampleRecord();
    await store.createSession(handle, record, 60_000);
    const tag = userTag(record.sub);
    const sessionKey = `layout:{u:${tag}}:s:${sessionKeyId(handle)}`;
    const keys = await inspector.keys('layout:*');
    expect(keys).toHaveLength(4);
    expect(keys).toEqual(
      expect.arrayContaining([
        sessionKey,
        `layout:{u:${tag}}:sessions`,
        'layout:active',
        expect.stringMatching(/^layout:sid:\{[\w-]{43}\}$/),
      ]),
    );
    const secret = handle.split('.')[1];
    expect(keys.filter(key => key.includes(secret))).toEqual([]);
    // every key but the shared active-session set expires with the session
    const ttls = await Promise.all(
      keys.filter(key => key !== 'layout:active').map(k => inspector.pttl(k)),
    );
    expect(ttls.every(ttl => ttl > 0 && ttl <= 60_000)).toBe(true);
    expect(await inspector.type(sessionKey)).toBe('hash');
    // plain fields are token-free; the sid is stored hashed
    const fields = await inspector.hgetall(sessionKey);
    expect(Object.keys(fields).sort()).toEqual(
      ['c', 'exp', 'r', 'record', 'sid', 'sub'].sort(),
    );
    expect(fields.sid).not.toContain(record.sid);
  });

  it('sets the new TTL on update', async () => {
    const store = await newStore('slide:');
    const handle = newHandle();
    await store.createSession(handle, sampleRecord(), 60_000);
    await store.updateSession(handle, sampleRecord(), 3_600_000);
    expect(await inspector.pttl(store.sessionKey(handle))).toBeGreaterThan(
      60_000,
    );
  });

  it('keeps the TTL when recording the entity ref', async () => {
    const store = await newStore('ttl:');
    const handle = newHandle();
    await store.createSession(handle, sampleRecord(), 60_000);
    await store.setEntityRef(handle, 'user:default/alice');
    expect(await inspector.pttl(store.sessionKey(handle))).toBeGreaterThan(0);
  });

  it('reports an unreachable Redis as SessionStoreUnavailableError, fast', async () => {
    const client = createRedisClient({
      mode: 'standalone',
      host: '127.0.0.1',
      port: 1, // nothing listens here
      connectTimeoutMs: 500,
      commandTimeoutMs: 500,
    });
    await client.connect().catch(() => {});
    const store = new RedisSessionStore({ client, prefix: 'x:' });
    await expect(store.getSession(newHandle())).rejects.toThrow(
      SessionStoreUnavailableError,
    );
    await expect(store.getSession(newHandle())).rejects.toThrow(
      /^Session store \(Redis\) unavailable while reading the session/,
    );
    client.disconnect();
  });
});

describe('RedisSessionStore bookkeeping', () => {
  it('the set of live sessions drops expired members on every write and expires with its longest session', async () => {
    const store = await newStore('active:');
    const shortLived = newHandle();
    await store.createSession(shortLived, sampleRecord(), 300);
    await new Promise(r => setTimeout(r, 800)); // it expires; nobody counts
    const longLived = newHandle();
    await store.createSession(longLived, sampleRecord(), 60_000);

    const members = await inspector.zrange('active:active', 0, -1);
    expect(members).toHaveLength(1);
    expect(members[0]).toContain(sessionKeyId(longLived));
    const ttl = await inspector.pttl('active:active');
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);

    // a refresh slides it
    expect(await store.updateSession(longLived, sampleRecord(), 120_000)).toBe(
      true,
    );
    expect(await inspector.pttl('active:active')).toBeGreaterThan(110_000);
  });
});
