import { Browser } from '../src/fixtures/Browser';
import { DevIdp } from '../src/fixtures/DevIdp';
import { startKeycloakTestBackend } from '../src/fixtures/KeycloakTestBackend';
import { measureFailover } from '../src/fixtures/measureFailover';
import {
  MASTER_NAME,
  RedisSentinelSet,
} from '../src/fixtures/RedisSentinelSet';
import { refresh, signIn } from '../src/fixtures/signIn';
import {
  markdownTable,
  ms,
  timeRepeated,
  type LatencySummary,
} from '@redis-session/test-support';
import { runStoreBench } from './storeBench';

type Durability = 'none' | 'replicated';

export interface RedisDurabilityResult {
  storeWrite: Record<Durability, LatencySummary>;
  refresh: Record<Durability, LatencySummary>;
  failoverMs: number;
}

const STORE_WRITES = 2000;
const REFRESHES = 300;

/**
 * Session write (the refresh's second round trip) straight on the store:
 * the module's own bench, on its store class.
 */
function measureStoreWrites(redis: RedisSentinelSet, durability: Durability) {
  return runStoreBench('writes', {
    sentinels: redis.sentinelAddresses,
    name: MASTER_NAME,
    prefix: `bench:${durability}:`,
    durability,
    count: STORE_WRITES,
    warmup: 200,
  });
}

/** `/refresh` through a real Backstage backend (includes the IdP's refresh grant). */
async function measureRefreshes(
  idp: DevIdp,
  redis: RedisSentinelSet,
  durability: Durability,
) {
  const backend = await startKeycloakTestBackend({
    issuer: idp.issuer,
    session: {
      store: 'redis',
      redis: {
        sentinels: redis.sentinelAddresses,
        name: MASTER_NAME,
        prefix: `bench:${durability}:`,
        durability,
      },
    },
  });
  const browsers: Browser[] = [];
  for (let i = 0; i < 8; i++) {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, i % 2 ? 'bob' : 'alice');
    browsers.push(browser);
  }
  const summary = await timeRepeated(REFRESHES, 40, async i => {
    const res = await refresh(browsers[i % browsers.length], backend.authUrl);
    if (res.status !== 200) {
      throw new Error(`refresh answered ${res.status}: ${await res.text()}`);
    }
  });
  return { summary, backend, browsers };
}

export async function benchRedisDurability(): Promise<{
  result: RedisDurabilityResult;
  markdown: string;
}> {
  const [idp, redis] = await Promise.all([
    // Keycloak's default: no rotation (see docs/operations.md, Failover)
    DevIdp.start(['--no-rotate-refresh-tokens']),
    RedisSentinelSet.start(),
  ]);
  try {
    const storeWrite = {
      none: await measureStoreWrites(redis, 'none'),
      replicated: await measureStoreWrites(redis, 'replicated'),
    };
    const none = await measureRefreshes(idp, redis, 'none');
    await none.backend.stop();
    const replicated = await measureRefreshes(idp, redis, 'replicated');
    const { failoverMs } = await measureFailover(
      replicated.browsers[0],
      replicated.backend.authUrl,
      redis,
    );
    await replicated.backend.stop();

    const result = {
      storeWrite,
      refresh: { none: none.summary, replicated: replicated.summary },
      failoverMs,
    };
    const row = (name: string, s: LatencySummary) => [
      name,
      s.count,
      ms(s.p50),
      ms(s.p95),
      ms(s.p99),
      ms(s.max),
    ];
    const markdown = [
      '### Redis durability (Sentinel: 1 master, 2 replicas, 3 sentinels)',
      '',
      markdownTable(
        ['operation', 'n', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
        [
          row('session write, durability none', storeWrite.none),
          row(
            'session write, durability replicated (WAIT 1)',
            storeWrite.replicated,
          ),
          row('/refresh via Backstage, durability none', result.refresh.none),
          row(
            '/refresh via Backstage, durability replicated',
            result.refresh.replicated,
          ),
        ],
      ),
      '',
      markdownTable(
        ['failover', 'ms'],
        [
          [
            'SIGKILL of the master to first successful /refresh (durability replicated)',
            failoverMs,
          ],
        ],
      ),
    ].join('\n');
    return { result, markdown };
  } finally {
    await redis.dispose();
    await idp.stop();
  }
}
