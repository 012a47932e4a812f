import { randomBytes } from 'node:crypto';
import { sealBinaryForHandle } from '../src/session/handleSealing';
import { encodeRecord } from '../src/session/recordBytes';
import { createRedisClient } from '../src/session/redis/createRedisClient';
import { redisSessionStorage } from '../src/session/redis/redisSessionStorage';
import type { RedisSessionStore } from '../src/session/redis/RedisSessionStore';
import { createSessionHandle } from '../src/session/sessionHandle';
import type { SessionRecord } from '../src/session/types';
import { runLoad, type LoadResult } from '@redis-session/test-support';

export interface ScenarioRow extends LoadResult {
  scenario: string;
  concurrency: number;
  /** p99 of this row over p99 of the floor it is compared with */
  vsFloorP99?: number;
}

const TTL_MS = 3_600_000;

/** The store as a backend opens it: one connection, sealed records. */
export async function openBenchStore(redisUrl: string) {
  const client = createRedisClient({
    mode: 'standalone',
    url: redisUrl,
    connectTimeoutMs: 5000,
    commandTimeoutMs: 5000,
  });
  await client.connect();
  return redisSessionStorage({ client, prefix: 'backstage:session:' });
}

/** Creates `count` sessions (two per user) through the store API. */
export async function populate(
  store: RedisSessionStore,
  count: number,
  template: SessionRecord,
  tag: string,
): Promise<string[]> {
  const handles: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const now = Date.now();
      const record = {
        ...template,
        sub: `${tag}-user-${Math.floor(i / 2)}`,
        sid: `${tag}-sid-${i}`,
        createdAt: now,
        refreshedAt: now,
      };
      const { handle } = await store.createSession(record, TTL_MS, {
        // a real browser's
        metadata: {
          userAgent:
            'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
        },
      });
      // what the sign-in resolver made of the user, as every session has
      const entityRef = `user:default/${tag}-user-${Math.floor(i / 2)}`;
      await store.setEntityRef(handle, entityRef, {
        claims: { sub: entityRef, ent: [entityRef, 'group:default/team-a'] },
        resolvedAt: now,
      });
      handles[i] = handle;
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return handles;
}

/**
 * The floor (one ioredis connection doing GET/SET of a value the size of a
 * sealed session record) and the store's get/save/delete on the same Redis,
 * at the same connection count, with `live` sessions in it.
 */
export async function benchStoreVsRaw(options: {
  redisUrl: string;
  template: SessionRecord;
  live: string[];
  store: RedisSessionStore;
  durationMs: number;
}): Promise<ScenarioRow[]> {
  const { store, live, template } = options;
  // the floor writes a value the size of the sealed record
  const value = randomBytes(
    sealBinaryForHandle(
      createSessionHandle(template.sub),
      encodeRecord(template),
      'x',
    ).length,
  );
  const raw = createRedisClient({
    mode: 'standalone',
    url: options.redisUrl,
    connectTimeoutMs: 5000,
    commandTimeoutMs: 5000,
  });
  await raw.connect();
  for (let i = 0; i < 1000; i++) {
    await raw.set(`raw:{${i}}`, value, 'PX', TTL_MS);
  }
  const spare = await populate(store, 20_000, template, 'spare');
  const pick = () => live[Math.floor(Math.random() * live.length)];
  const load = (
    concurrency: number,
    op: (w: number, i: number) => Promise<void>,
  ) =>
    runLoad({ concurrency, durationMs: options.durationMs, warmupMs: 500, op });

  const rows: ScenarioRow[] = [];
  for (const concurrency of [1, 16]) {
    const get = await load(concurrency, async (_, i) => {
      await raw.get(`raw:{${i % 1000}}`);
    });
    const set = await load(concurrency, async (_, i) => {
      await raw.set(`raw:{${i % 1000}}`, value, 'PX', TTL_MS);
    });
    rows.push(
      { scenario: 'raw Redis GET (floor)', concurrency, ...get },
      { scenario: 'raw Redis SET (floor)', concurrency, ...set },
    );
    const storeGet = await load(concurrency, async () => {
      if (!(await store.getSession(pick()))) throw new Error('missing');
    });
    const storeSave = await load(concurrency, async () => {
      const saved = await store.updateSession(
        pick(),
        { ...template, refreshedAt: Date.now() },
        TTL_MS,
      );
      if (!saved) throw new Error('missing');
    });
    let spareIndex = concurrency === 1 ? 0 : spare.length / 2;
    const storeDelete = await runLoad({
      concurrency,
      durationMs: options.durationMs,
      // the gets and updates warmed the same connection and scripts
      warmupMs: 0,
      // each spare session is deleted once; half of them per concurrency
      maxOpsPerWorker: Math.floor(spare.length / 2 / concurrency),
      op: async () => {
        if (!(await store.deleteSession(spare[spareIndex++]))) {
          throw new Error('missing');
        }
      },
    });
    rows.push(
      {
        scenario: 'store getSession',
        concurrency,
        ...storeGet,
        vsFloorP99: storeGet.p99 / get.p99,
      },
      {
        scenario: 'store updateSession (a refresh write)',
        concurrency,
        ...storeSave,
        vsFloorP99: storeSave.p99 / set.p99,
      },
      {
        scenario: 'store deleteSession',
        concurrency,
        ...storeDelete,
        vsFloorP99: storeDelete.p99 / set.p99,
      },
    );
  }
  raw.disconnect();
  return rows;
}
