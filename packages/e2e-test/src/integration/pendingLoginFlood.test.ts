import { Redis } from 'ioredis';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { RedisServer } from '@redis-session/test-support';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(120_000);

/**
 * Anyone can call `/start`, and each call stores a pending login. A flood of
 * them must not fill Redis: with `maxmemory` and `noeviction` a full Redis
 * refuses writes, and a signed-in user's next refresh (which writes the
 * rotated tokens) would answer 503. Pending logins are short-lived and
 * counted against `maxPendingLogins`.
 */
describe('a flood of /start calls', () => {
  const BUDGET = 200;
  const FLOOD = 3_000;
  let idp: DevIdp;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend;

  beforeAll(async () => {
    idp = await DevIdp.start();
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      session: {
        store: 'redis',
        maxPendingLogins: BUDGET,
        minAccessTokenValidity: 0, // every refresh writes to Redis
        redis: { url: redisServer.url, prefix: 'test:session:' },
      },
    });
  });

  afterAll(async () => {
    await backend?.stop();
    redis?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  const usedMemory = async () =>
    Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

  it('stores at most maxPendingLogins, and never blocks a signed-in refresh', async () => {
    const alice = new Browser();
    await signIn(alice, backend.authUrl, 'alice');
    const before = await usedMemory();
    // room for the budget's pending logins, not for the flood's
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', String(before + 512 * 1024));

    const statuses: Record<number, number> = {};
    const refusals = new Set<string>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next++ < FLOOD) {
          const res = await fetch(
            `${backend.authUrl}/start?env=development&flow=popup`,
            { redirect: 'manual' },
          );
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status === 503 && next % 500 === 0) {
            refusals.add((await res.json()).error.message);
          }
        }
      }),
    );
    const pending = await redis.keys('test:session:login:*');
    const grown = (await usedMemory()) - before;
    // eslint-disable-next-line no-console
    console.log(
      `flood of ${FLOOD} /start: ${JSON.stringify(statuses)}, ${pending.length} pending logins stored, used_memory +${grown} bytes`,
    );
    // alice's own sign-in counted too: the budget counts logins started
    // within the login TTL, finished or not
    expect(statuses).toEqual({ 302: BUDGET - 1, 503: FLOOD - BUDGET + 1 });
    expect(pending).toHaveLength(BUDGET - 1);
    expect([...refusals]).toEqual([
      expect.stringMatching(
        /^Too many sign-ins in progress \(200 started in the last 300 s, auth\.session\.maxPendingLogins\)/,
      ),
    ]);
    expect(grown).toBeLessThan(512 * 1024);

    // the signed-in user is not affected
    expect((await refresh(alice, backend.authUrl)).status).toBe(200);
    await redis.config('SET', 'maxmemory', '0');
  });
});
