import { Redis, ReplyError } from 'ioredis';
import { RedisServer } from '@redis-session/test-support';
import { SessionStoreUnavailableError } from '../../errors';
import { describeSessionQueriesContract } from '../../__testUtils__/sessionQueriesContract';
import { sessionKeyId, userTag } from '../sessionHandle';
import {
  describeSessionStoreContract,
  newHandle,
  sampleRecord,
} from '../../__testUtils__/sessionStoreContract';
import { connectedRedis } from '../../__testUtils__/connectedRedis';
import { createRedisClient } from './createRedisClient';
import { redisSessionStorage } from './redisSessionStorage';
import {
  openBinaryForHandle,
  openForHandle,
  sealBinaryForHandle,
  sealForHandle,
} from '../handleSealing';
import { decodeRecord, encodeRecord, RECORD_DICTIONARY } from '../recordBytes';
import { RecordCipher } from '../RecordCipher';
import { randomBytes } from 'node:crypto';

let server: RedisServer;
let inspector: Redis;
const stores: ReturnType<typeof redisSessionStorage>[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  inspector = server.client();
});

afterAll(async () => {
  await Promise.all(stores.map(s => s.close()));
  inspector.disconnect();
  await server.dispose();
});

/** A value the store wrote in chunks (`k0`, `k1`, … or `i0`, …), whole */
async function chunked(key: string, prefix = 'k'): Promise<Buffer> {
  const fields = await inspector.hgetallBuffer(key);
  const chunks: Buffer[] = [];
  for (let i = 0; fields[`${prefix}${i}`]?.length; i++) {
    chunks.push(fields[`${prefix}${i}`]);
  }
  return Buffer.concat(chunks);
}

/**
 * Writes a record the way a version before the chunks did (or a forger
 * would): in the `record` field, with the chunks blanked.
 */
async function plantRecord(key: string, value: Buffer | string) {
  await inspector.hset(key, 'k0', '', 'record', value);
}

async function rawClient(prefix: string) {
  return { client: await connectedRedis(server.url), prefix };
}

async function newStore(prefix = 'contract:') {
  const { client } = await rawClient(prefix);
  const storage = redisSessionStorage({ client, prefix });
  stores.push(storage);
  return storage;
}

let contractStores = 0;
describeSessionStoreContract('RedisSessionStore', () =>
  newStore(`contract-${++contractStores}:`),
);
describeSessionQueriesContract('RedisSessionStore', () => newStore());

describe('RedisSessionStore layout', () => {
  it("keys a session by a hash of its handle inside its user's hash tag", async () => {
    const { sessions } = await newStore('layout:');
    const record = sampleRecord();
    const { handle } = await sessions.createSession(record, 60_000, {
      // a real browser's: longer than one listpack entry
      metadata: {
        userAgent:
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      },
    });
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
    const chunks = Object.keys(fields).filter(f => /^[ku]\d+$/.test(f));
    expect(chunks.length).toBeGreaterThan(0);
    expect(
      Object.keys(fields)
        .filter(f => !chunks.includes(f))
        .sort(),
    ).toEqual(['c', 'exp', 'r', 'sid', 'sub'].sort());
    expect(fields.sid).not.toContain(record.sid);
    // every value fits a listpack entry: Redis keeps the hash compact
    expect(
      Object.values(await inspector.hgetallBuffer(sessionKey)).every(
        value => value.length <= 64,
      ),
    ).toBe(true);
    expect(await inspector.object('ENCODING', sessionKey)).toBe('listpack');
  });

  it('blanks the chunks a longer record left when a shorter one is written', async () => {
    const { sessions, layout } = await newStore('chunks:');
    const long = sampleRecord({
      accessToken: randomBytes(3000).toString('hex'),
    });
    const { handle } = await sessions.createSession(long, 60_000);
    const key = layout.ofHandle(handle).session;
    const nonEmptyChunks = async () =>
      Object.entries(await inspector.hgetallBuffer(key)).filter(
        ([field, value]) => /^k\d+$/.test(field) && value.length > 0,
      ).length;
    const longChunks = await nonEmptyChunks();
    const short = sampleRecord();
    await sessions.updateSession(handle, short, 60_000);
    expect(await nonEmptyChunks()).toBe(
      Math.ceil((await chunked(key)).length / 64),
    );
    expect(await nonEmptyChunks()).toBeLessThan(longChunks);
    expect((await sessions.getSession(handle))?.record).toEqual(short);
  });

  it('sets the new TTL on update', async () => {
    const { sessions, layout } = await newStore('slide:');
    const { handle } = await sessions.createSession(sampleRecord(), 60_000);
    await sessions.updateSession(handle, sampleRecord(), 3_600_000);
    expect(
      await inspector.pttl(layout.ofHandle(handle).session),
    ).toBeGreaterThan(60_000);
  });

  it('keeps the TTL when recording the entity ref', async () => {
    const { sessions, layout } = await newStore('ttl:');
    const { handle } = await sessions.createSession(sampleRecord(), 60_000);
    await sessions.setEntityRef(handle, 'user:default/alice');
    expect(
      await inspector.pttl(layout.ofHandle(handle).session),
    ).toBeGreaterThan(0);
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
    const { sessions } = redisSessionStorage({ client, prefix: 'x:' });
    await expect(sessions.getSession(newHandle())).rejects.toThrow(
      SessionStoreUnavailableError,
    );
    await expect(sessions.getSession(newHandle())).rejects.toThrow(
      /^Session store \(Redis\) unavailable while reading the session/,
    );
    client.disconnect();
  });
});

describe('RedisSessionStore sealing', () => {
  it('seals every token set under a key only its handle gives, with nothing configured', async () => {
    const { sessions, layout } = await newStore('sealed:');
    const record = sampleRecord();
    const { handle } = await sessions.createSession(record, 60_000);
    const { handle: other } = await sessions.createSession(record, 60_000);
    const key = layout.ofHandle(handle).session;
    const sealed = await chunked(key);
    // binary: version 3, no server key id
    expect([...sealed.subarray(0, 2)]).toEqual([3, 0]);
    for (const token of [
      record.refreshToken,
      record.accessToken,
      record.idToken!,
    ]) {
      expect(sealed.toString('latin1')).not.toContain(token);
    }
    const opened = openBinaryForHandle(
      handle,
      sealed,
      key,
      {},
      { dictionary: RECORD_DICTIONARY },
    );
    expect('plaintext' in opened && decodeRecord(opened.plaintext)).toEqual(
      record,
    );
    // another session's handle, or the value moved to another key: nothing
    expect(
      openBinaryForHandle(
        other,
        sealed,
        key,
        {},
        { dictionary: RECORD_DICTIONARY },
      ),
    ).toEqual({ failure: 'corrupt' });
    const otherKey = layout.ofHandle(other).session;
    await plantRecord(otherKey, sealed);
    expect(await sessions.getSession(other)).toBeUndefined();
    expect((await sessions.getSession(handle))?.record).toEqual(record);
  });

  it('still reads v2 text records (the format before the binary one), and seals them as bytes on the next write', async () => {
    const { sessions, layout } = await newStore('legacy-v2:');
    const record = sampleRecord();
    const { handle } = await sessions.createSession(record, 60_000);
    const key = layout.ofHandle(handle).session;
    const v2 = sealForHandle(handle, JSON.stringify(record), key);
    await plantRecord(key, v2);
    expect((await sessions.getSession(handle))?.record).toEqual(record);
    expect(openForHandle(handle, v2, key)).toEqual({
      plaintext: JSON.stringify(record),
    });
    await sessions.updateSession(handle, record, 60_000);
    const rewritten = await chunked(key);
    expect(rewritten[0]).toBe(3);
    expect(rewritten.length).toBeLessThan(v2.length);
    // the legacy field is blanked (no HDEL in the documented ACL)
    expect(await inspector.hget(key, 'record')).toBe('');
  });

  it('still reads plain records written before 0.3 when no server keys are configured', async () => {
    const { sessions, layout } = await newStore('legacy-plain:');
    const record = sampleRecord();
    const { handle } = await sessions.createSession(record, 60_000);
    const key = layout.ofHandle(handle).session;
    await plantRecord(key, JSON.stringify(record));
    expect((await sessions.getSession(handle))?.record).toEqual(record);
    await sessions.updateSession(handle, record, 60_000);
    expect((await chunked(key))[0]).toBe(3);
  });

  it('with server keys, binds every record to them: a session planted in Redis does not open', async () => {
    const old = { id: 'k1', key: randomBytes(32) };
    const next = { id: 'k2', key: randomBytes(32) };
    const open = async (serverKeys: (typeof old)[]) => {
      const { client, prefix } = await rawClient('bound:');
      const storage = redisSessionStorage({ client, prefix, serverKeys });
      stores.push(storage);
      return storage;
    };
    const { sessions, layout } = await open([old]);
    const record = sampleRecord();
    const { handle } = await sessions.createSession(record, 60_000);
    const key = layout.ofHandle(handle).session;
    const keyIdOf = async () => {
      const sealed = await chunked(key);
      return sealed.subarray(2, 2 + sealed[1]).toString();
    };
    expect(await keyIdOf()).toBe('k1');
    expect((await sessions.getSession(handle))?.record).toEqual(record);

    // whoever can write to Redis, but holds no server key, plants a record
    // for a handle of their choosing: plain, or sealed by the handle alone
    const planted = await sessions.createSession(record, 60_000);
    const plantedKey = layout.ofHandle(planted.handle).session;
    for (const forged of [
      JSON.stringify(record),
      sealForHandle(planted.handle, JSON.stringify(record), plantedKey),
      sealBinaryForHandle(
        planted.handle,
        encodeRecord(record),
        plantedKey,
        {},
        { dictionary: RECORD_DICTIONARY },
      ),
    ]) {
      await plantRecord(plantedKey, forged);
      expect(await sessions.getSession(planted.handle)).toBeUndefined();
    }

    // records sealed under v1 (server keys before 0.3) still open
    await plantRecord(
      plantedKey,
      new RecordCipher({ keys: [old] }).seal(
        JSON.stringify(record),
        plantedKey,
      ),
    );
    expect((await sessions.getSession(planted.handle))?.record).toEqual(record);
    // and so do v2 text records sealed with a server key
    await plantRecord(
      plantedKey,
      sealForHandle(planted.handle, JSON.stringify(record), plantedKey, {
        serverKeys: [old],
      }),
    );
    expect((await sessions.getSession(planted.handle))?.record).toEqual(record);

    // rotation: the new key seals, the old one still opens
    const rotated = await open([next, old]);
    expect((await rotated.sessions.getSession(handle))?.record).toEqual(record);
    await rotated.sessions.updateSession(handle, record, 60_000);
    expect(await keyIdOf()).toBe('k2');
    // the old key removed: records only it sealed do not open (a 401)
    const onlyNext = (await open([next])).sessions;
    expect(await onlyNext.getSession(planted.handle)).toBeUndefined();
    expect((await onlyNext.getSession(handle))?.record).toEqual(record);
  });
});

describe('RedisSessionStore resolved identity', () => {
  it('is sealed like the record: one planted or moved in Redis is not offered', async () => {
    const { sessions, queries, layout } = await newStore('identity:');
    const record = sampleRecord();
    const { handle } = await sessions.createSession(record, 60_000);
    const key = layout.ofHandle(handle).session;
    const identity = {
      claims: { sub: 'user:default/alice', ent: ['group:default/team-a'] },
      resolvedAt: Date.now(),
    };
    await sessions.setEntityRef(handle, 'user:default/alice', identity);
    expect(await sessions.getSession(handle)).toMatchObject({
      entityRef: 'user:default/alice',
      identity,
    });
    expect(await inspector.hget(key, 'user')).toBe('user:default/alice');
    const sealed = await chunked(key, 'i');
    expect(sealed.toString('latin1')).not.toContain('team-a');

    // someone who can write to Redis makes alice an admin: in plain, sealed
    // by another session's handle, or the record's own sealed value moved
    const admin = {
      claims: { sub: 'user:default/alice', ent: ['group:default/admins'] },
      resolvedAt: Date.now(),
    };
    const { handle: other } = await sessions.createSession(
      sampleRecord(),
      60_000,
    );
    for (const forged of [
      JSON.stringify({ at: admin.resolvedAt, claims: admin.claims }),
      sealBinaryForHandle(
        other,
        Buffer.from(
          JSON.stringify({ at: admin.resolvedAt, claims: admin.claims }),
        ),
        `${key}#identity`,
        {},
        { deflate: false },
      ),
      await chunked(key),
    ]) {
      // as one chunk: the forger may write whatever fields they like
      await inspector.hset(key, 'i0', forged, 'i1', '');
      const read = await sessions.getSession(handle);
      expect(read?.identity).toBeUndefined();
      expect(read?.record).toEqual(record);
    }

    // a refresh that resolved to another entity (a renamed user) is found
    // by that entity from then on
    const renamed = {
      claims: { sub: 'user:default/alice-smith' },
      resolvedAt: Date.now(),
    };
    await sessions.updateSession(handle, record, 60_000, {
      identity: renamed,
    });
    expect(
      (await queries.listSessions({ entityRef: 'user:default/alice-smith' }))
        .length,
    ).toBe(1);

    // forgotten when a refresh could not resolve
    await inspector.hset(key, 'i0', sealed, 'i1', '');
    expect((await sessions.getSession(handle))?.identity).toEqual(identity);
    await sessions.updateSession(handle, sampleRecord(), 60_000, {
      identity: null,
    });
    expect((await sessions.getSession(handle))?.identity).toBeUndefined();
  });
});

describe('RedisSessionStore errors', () => {
  it('lets a bug surface as itself instead of a 503', async () => {
    const { sessions, layout } = await newStore('bug:');
    const handle = newHandle();
    // something else wrote a string where the session hash goes
    await inspector.set(layout.ofHandle(handle).session, 'not a hash');
    const error = await sessions.getSession(handle).catch(e => e);
    expect(error).toBeInstanceOf(ReplyError);
    expect(error).not.toBeInstanceOf(SessionStoreUnavailableError);
    expect(error.message).toMatch(/^WRONGTYPE/);
  });

  it('reports Redis refusing to serve (here: OOM) as unavailable', async () => {
    const { sessions } = await newStore('oom:');
    await inspector.config('SET', 'maxmemory', '1');
    try {
      await expect(
        sessions.putLoginTransaction(
          'state',
          { codeVerifier: 'v', nonce: 'n', browserBinding: 'b', createdAt: 1 },
          60_000,
          100,
        ),
      ).rejects.toThrow(
        /^Session store \(Redis\) unavailable while saving the login transaction: OOM /,
      );
    } finally {
      await inspector.config('SET', 'maxmemory', '0');
    }
  });
});

describe('RedisSessionStore over a frozen or cut-off Redis', () => {
  it('gives back the refresh lock a timed-out read took once Redis got to it', async () => {
    const frozen = await RedisServer.start();
    const client = await connectedRedis(frozen.url);
    const storage = redisSessionStorage({ client, prefix: 'late:' });
    const raw = frozen.client();
    try {
      const { handle } = await storage.sessions.createSession(
        sampleRecord(),
        60_000,
      );
      frozen.pause();
      await expect(
        storage.sessions.readForRefresh(handle, { leaseMs: 30_000 }),
      ).rejects.toBeInstanceOf(SessionStoreUnavailableError);
      frozen.resume();
      // answered after what was sent before it: the late read, and what
      // followed it
      await client.ping();
      // no lock left to hold the session's refreshes for 30 s
      expect(await raw.exists(storage.layout.ofHandle(handle).lock)).toBe(0);
    } finally {
      raw.disconnect();
      await storage.close();
      await frozen.dispose();
    }
  });
});

describe('RedisSessionStore bookkeeping', () => {
  it("keeps a user's index at the per-user limit however often the user signs in", async () => {
    const { sessions, layout } = await newStore('many:');
    const record = sampleRecord({ sub: 'many-logins', sid: undefined });
    for (let i = 0; i < 200; i++) {
      await sessions.createSession(record, 60_000, { maxSessionsPerUser: 10 });
    }
    const index = layout.ofUser(userTag(record.sub)).index;
    expect(await inspector.zcard(index)).toBe(10);
    expect(await inspector.keys('many:{u:*}:s:*')).toHaveLength(10);
  });

  it('the set of live sessions drops expired members on every write and expires with its longest session', async () => {
    const { sessions } = await newStore('active:');
    await sessions.createSession(sampleRecord(), 300);
    await new Promise(r => setTimeout(r, 800)); // it expires; nobody counts
    const { handle: longLived } = await sessions.createSession(
      sampleRecord(),
      60_000,
    );

    const members = await inspector.zrange('active:active', 0, -1);
    expect(members).toHaveLength(1);
    expect(members[0]).toContain(sessionKeyId(longLived));
    const ttl = await inspector.pttl('active:active');
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);

    // a refresh slides it
    expect(
      await sessions.updateSession(longLived, sampleRecord(), 120_000),
    ).toBe(true);
    expect(await inspector.pttl('active:active')).toBeGreaterThan(110_000);
  });
});
