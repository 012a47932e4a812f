import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import { startKeycloakTestBackend } from '../fixtures/KeycloakTestBackend';
import { RedisServer } from '@redis-session/test-support';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(90_000);

const START = `/start?env=development&flow=redirect&redirectUrl=${encodeURIComponent('http://localhost:3000/')}`;

async function eventually<T>(
  fn: () => Promise<T>,
  ok: (value: T) => boolean,
): Promise<T> {
  let value = await fn();
  for (let i = 0; i < 100 && !ok(value); i++) {
    await new Promise(r => setTimeout(r, 100));
    value = await fn();
  }
  return value;
}

describe('when Redis misbehaves', () => {
  let idp: DevIdp;

  beforeAll(async () => {
    idp = await DevIdp.start();
  });

  afterAll(async () => {
    await idp?.stop();
  });

  const backendOn = (redisServer: RedisServer) =>
    startKeycloakTestBackend({
      issuer: idp.issuer,
      session: {
        store: 'redis',
        redis: {
          url: redisServer.url,
          prefix: 'test:session:',
          connectTimeout: 1000,
          commandTimeout: 1000,
        },
      },
    });

  it('a backend started while Redis is down comes up, answers 503, and recovers by itself', async () => {
    const redisServer = await RedisServer.start();
    await redisServer.stop();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const backend = await backendOn(redisServer);
    try {
      const errors = backend.logger.lines.filter(l => l.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0].message).toMatch(
        /^keycloak-oidc session store cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/?: .*ECONNREFUSED.*; auth routes answer 503 until it is reachable/,
      );
      // no silent fall-back to memory
      expect(backend.logger.dump()).not.toMatch(/kept in memory/);
      const down = await fetch(`${backend.authUrl}${START}`, {
        redirect: 'manual',
      });
      expect(down.status).toBe(503);
      expect((await down.json()).error.message).toMatch(
        /^Session store \(Redis\) unavailable while saving the login transaction/,
      );

      await redisServer.start();
      const up = await eventually(
        () => fetch(`${backend.authUrl}${START}`, { redirect: 'manual' }),
        res => res.status === 302,
      );
      expect(up.status).toBe(302);
      expect(backend.logger.dump()).toMatch(/session store connected to Redis/);
      const browser = new Browser();
      await signIn(browser, backend.authUrl, 'alice');
      expect((await refresh(browser, backend.authUrl)).status).toBe(200);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await backend.stop();
      await redisServer.dispose();
    }
  });

  it('a Redis restarted without persistence gives clean 401s and fresh logins work', async () => {
    const redisServer = await RedisServer.start({ persistent: false });
    const backend = await backendOn(redisServer);
    try {
      const browser = new Browser();
      await signIn(browser, backend.authUrl, 'bob');
      await redisServer.restart(); // every session is gone

      const res = await eventually(
        () => refresh(browser, backend.authUrl),
        r => r.status !== 503,
      );
      expect(res.status).toBe(401);
      expect((await res.json()).error.message).toBe(
        'Session not found or expired; sign in again',
      );
      expect(res.headers.getSetCookie().join()).toMatch(
        /keycloak-oidc-refresh-token=;/,
      );

      await signIn(browser, backend.authUrl, 'bob');
      expect((await refresh(browser, backend.authUrl)).status).toBe(200);
    } finally {
      await backend.stop();
      await redisServer.dispose();
    }
  });

  it('a Redis that stops answering mid-request fails the request promptly and keeps the session', async () => {
    const redisServer = await RedisServer.start();
    const backend = await backendOn(redisServer);
    try {
      const browser = new Browser();
      await signIn(browser, backend.authUrl, 'alice');

      redisServer.pause();
      const startedAt = Date.now();
      const res = await refresh(browser, backend.authUrl);
      const elapsedMs = Date.now() - startedAt;
      redisServer.resume();

      expect(res.status).toBe(503);
      expect((await res.json()).error.message).toMatch(
        /^Session store \(Redis\) unavailable while reading the session: Command timed out/,
      );
      expect(res.headers.getSetCookie()).toEqual([]);
      // bounded by commandTimeout (1 s here), not by TCP timeouts
      expect(elapsedMs).toBeLessThan(5_000);

      const after = await eventually(
        () => refresh(browser, backend.authUrl),
        r => r.status === 200,
      );
      expect(after.status).toBe(200);
    } finally {
      redisServer.resume();
      await backend.stop();
      await redisServer.dispose();
    }
  });
});
