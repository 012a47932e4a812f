import { Redis } from 'ioredis';
import { RedisServer } from '../__testUtils__/RedisServer';
import { createRedisClient } from './createRedisClient';
import { RedisSessionStore } from './RedisSessionStore';
import { createSessionHandle, sessionKeyId } from './sessionHandle';
import {
  describeSessionStoreContract,
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
  it('keys a session by a hash of its handle inside a cluster hash tag', async () => {
    const store = await newStore('layout:');
    const handle = createSessionHandle();
    await store.createSession(handle, sampleRecord(), 60_000);
    const keys = await inspector.keys('layout:*');
    expect(keys).toEqual([`layout:{${sessionKeyId(handle)}}`]);
    expect(keys[0]).not.toContain(handle);
    expect(await inspector.type(keys[0])).toBe('hash');
    const ttl = await inspector.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('sets the new TTL on update', async () => {
    const store = await newStore('slide:');
    const handle = createSessionHandle();
    await store.createSession(handle, sampleRecord(), 60_000);
    await store.updateSession(handle, sampleRecord(), 3_600_000);
    expect(await inspector.pttl(store.sessionKey(handle))).toBeGreaterThan(
      60_000,
    );
  });

  it('keeps the TTL when recording the entity ref', async () => {
    const store = await newStore('ttl:');
    const handle = createSessionHandle();
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
    await expect(store.getSession(createSessionHandle())).rejects.toThrow(
      SessionStoreUnavailableError,
    );
    await expect(store.getSession(createSessionHandle())).rejects.toThrow(
      /^Session store \(Redis\) unavailable while reading the session/,
    );
    client.disconnect();
  });
});
