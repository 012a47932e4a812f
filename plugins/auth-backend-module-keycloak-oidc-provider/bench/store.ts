/*
 * The store-level benchmarks: the module's RedisSessionStore (and the raw
 * Redis floor) on a Redis someone else started. `yarn bench`
 * (packages/e2e-test/bench) runs this as a child process while its Redis,
 * dev IdP and backends are up, and puts the rows into its pages:
 *
 *   node --require @backstage/cli/config/nodeTransform.cjs \
 *     plugins/auth-backend-module-keycloak-oidc-provider/bench/store.ts \
 *     <command> '<options as JSON>'
 *
 * prints the result as one JSON document on stdout. Commands:
 *
 * - `sessions` {redisUrl, handle, live, durationMs}: reads the session of
 *   `handle` (a signed-in browser's cookie: only it opens the record), gives
 *   it a refresh token shaped like Keycloak's, creates
 *   `live` sessions like it (they stay in Redis for whatever runs next),
 *   then measures the raw floor against the store's get/update/delete.
 * - `writes` {sentinels, name, prefix, durability, count, warmup}: one
 *   session's write (a refresh's second round trip), `count` times in a
 *   row, through a Sentinel-managed master with that durability.
 */
import { decodeJwt, SignJWT } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  createRedisClient,
  type RedisClient,
} from '../src/session/redis/createRedisClient';
import { redisSessionStorage } from '../src/session/redis/redisSessionStorage';
import { userTagOfHandle } from '../src/session/sessionHandle';
import { sampleRecord } from '../src/__testUtils__/sessionStoreContract';
import type { SessionRecord } from '../src/session/types';
import { timeRepeated } from '@redis-session/test-support';
import { benchStoreVsRaw, openBenchStore, populate } from './storeVsRaw';

/** A refresh token shaped like Keycloak's (HS512 JWT, ~700–900 B). */
async function keycloakLikeRefreshToken(accessToken: string) {
  const claims = decodeJwt(accessToken);
  return new SignJWT({
    exp: claims.exp! + 1500,
    iat: claims.iat,
    jti: randomUUID(),
    iss: claims.iss,
    aud: claims.iss,
    sub: claims.sub,
    typ: 'Refresh',
    azp: claims.azp,
    sid: claims.sid,
    scope: claims.scope,
  })
    .setProtectedHeader({ alg: 'HS512', typ: 'JWT', kid: randomUUID() })
    .sign(randomBytes(64));
}

async function usedMemory(redis: RedisClient): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)![1]);
}

/** Our store at `live` sessions against the raw Redis floor. */
async function sessions(options: {
  redisUrl: string;
  handle: string;
  live: number;
  durationMs: number;
}) {
  const storage = await openBenchStore(options.redisUrl);
  const store = storage.sessions;
  const reader = createRedisClient({
    mode: 'standalone',
    url: options.redisUrl,
    connectTimeoutMs: 5000,
    commandTimeoutMs: 5000,
  });
  await reader.connect();
  try {
    // a real session's record: Keycloak-sized tokens from the IdP
    const real = (await store.getSession(options.handle))?.record;
    if (!real) throw new Error('cannot open the template session');
    // The dev IdP's refresh tokens are opaque; Keycloak's are HS512 JWTs
    // with the session's claims: make one like it for the stored records.
    const template: SessionRecord = {
      ...real,
      refreshToken: await keycloakLikeRefreshToken(real.accessToken),
    };

    const memoryBefore = await usedMemory(reader);
    const live = await populate(store, options.live, template, 'live');
    const memoryAfter = await usedMemory(reader);

    const rows = await benchStoreVsRaw({
      redisUrl: options.redisUrl,
      template,
      live,
      store,
      durationMs: options.durationMs,
    });
    return {
      rows,
      usedMemoryPerSessionBytes: (memoryAfter - memoryBefore) / options.live,
      tokenBytes: {
        access: template.accessToken.length,
        refresh: template.refreshToken.length,
        id: template.idToken?.length ?? 0,
      },
      /** the user tag of one of the live sessions (two per user) */
      liveUserTag: userTagOfHandle(live[0]),
    };
  } finally {
    reader.disconnect();
    await storage.close();
  }
}

/** Session write (the refresh's second round trip) straight on the store. */
async function writes(options: {
  sentinels: { host: string; port: number }[];
  name: string;
  prefix: string;
  durability: 'none' | 'replicated';
  count: number;
  warmup: number;
}) {
  const commandTimeoutMs = 2000;
  const client = createRedisClient({
    mode: 'sentinel',
    sentinels: options.sentinels,
    name: options.name,
    connectTimeoutMs: 2000,
    commandTimeoutMs,
  });
  await client.connect();
  const storage = redisSessionStorage({
    client,
    prefix: options.prefix,
    replicaWaitMs:
      options.durability === 'replicated' ? commandTimeoutMs / 2 : undefined,
  });
  const store = storage.sessions;
  const record = sampleRecord({
    // Keycloak-sized tokens
    accessToken: 'a'.repeat(1400),
    refreshToken: 'r'.repeat(800),
    idToken: 'i'.repeat(1200),
  });
  const { handle } = await store.createSession(record, 600_000);
  const summary = await timeRepeated(
    options.count,
    options.warmup,
    async () => {
      await store.updateSession(handle, record, 600_000);
    },
  );
  await storage.close();
  return summary;
}

const commands: Record<string, (options: any) => Promise<unknown>> = {
  sessions,
  writes,
};

async function main() {
  const [command, json] = process.argv.slice(2);
  if (!commands[command] || !json) {
    throw new Error(
      `usage: store.ts <${Object.keys(commands).join('|')}> '<options as JSON>'`,
    );
  }
  const result = await commands[command](JSON.parse(json));
  // stdout is a pipe, written asynchronously: exit only once it is all out
  // (the raw samples make it far larger than a pipe's buffer)
  await new Promise<void>(resolve =>
    process.stdout.write(`${JSON.stringify(result)}\n`, () => resolve()),
  );
}

main().then(
  () => process.exit(0),
  error => {
    // eslint-disable-next-line no-console
    console.error(error);
    process.exit(1);
  },
);
