import { Redis } from 'ioredis';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import { startKeycloakTestBackend } from '../fixtures/KeycloakTestBackend';
import { RedisServer } from '@redis-session/test-support';
import {
  completeCallback,
  loginUntilCallback,
  logout,
  refresh,
  signIn,
} from '../fixtures/signIn';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';

jest.setTimeout(60_000);

/** The rule the README documents, with the prefix this test uses. */
const MINIMAL_ACL = (prefix: string) => [
  'on',
  '>s3cret-pass',
  `~${prefix}*`,
  'resetchannels',
  '-@all',
  // connection setup by ioredis: ready check, connection name
  '+info',
  '+client|setname',
  // logins and sessions
  '+set',
  '+getdel',
  '+hgetall',
  '+del',
  '+evalsha',
  '+eval',
  // inside the scripts (session write, refresh lock)
  '+get',
  '+hget',
  '+exists',
  '+hset',
  '+pexpire',
  // per-user index, pointers and the active-session count
  '+pttl',
  '+hmget',
  '+zadd',
  '+zrange',
  '+zrem',
  '+zcard',
  '+zremrangebyscore',
  '+sadd',
  '+smembers',
  '+incr',
];

describe('Redis ACL user restricted to the documented rule', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    [idp, redisServer] = await Promise.all([
      DevIdp.start(),
      RedisServer.start(),
    ]);
    admin = redisServer.client();
  });

  afterAll(async () => {
    admin?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  const backendAs = (username: string) =>
    startKeycloakTestBackend({
      issuer: idp.issuer,
      session: {
        store: 'redis',
        redis: {
          host: '127.0.0.1',
          port: redisServer.port,
          username,
          password: 's3cret-pass',
          prefix: 'test:session:',
        },
      },
    });

  it('runs login, refresh, logout and invalid_grant clean-up with nothing more', async () => {
    await admin.call(
      'ACL',
      'SETUSER',
      'backstage',
      'reset',
      ...MINIMAL_ACL('test:session:'),
    );
    const backend = await backendAs('backstage');
    try {
      const browser = new Browser();
      await signIn(browser, backend.authUrl, 'alice');
      expect((await refresh(browser, backend.authUrl)).status).toBe(200);
      expect((await logout(browser, backend.authUrl)).status).toBe(200);

      await signIn(browser, backend.authUrl, 'bob');
      await idp.restart();
      expect((await refresh(browser, backend.authUrl)).status).toBe(401);
      expect(await admin.keys(sessionKeyPattern())).toEqual([]);
      expect(backend.logger.lines.filter(l => l.level === 'error')).toEqual([]);

      // and the user really cannot touch anything else
      const restricted = new Redis({
        port: redisServer.port,
        username: 'backstage',
        password: 's3cret-pass',
      });
      await expect(restricted.get('other:key')).rejects.toThrow(/NOPERM/);
      await expect(restricted.flushall()).rejects.toThrow(/NOPERM/);
      restricted.disconnect();
    } finally {
      await backend.stop();
    }
  });

  async function callbackAs(name: string, without: string) {
    await admin.call(
      'ACL',
      'SETUSER',
      name,
      'reset',
      ...MINIMAL_ACL('test:session:').filter(rule => rule !== without),
    );
    const backend = await backendAs(name);
    try {
      const browser = new Browser();
      const callbackUrl = await loginUntilCallback(
        browser,
        backend.authUrl,
        'alice',
      );
      return await completeCallback(browser, callbackUrl, backend.authUrl);
    } finally {
      await backend.stop();
    }
  }

  it('a user lacking a needed command fails with a message naming it', async () => {
    // /start stores the pending login: a 503 naming the command
    await admin.call(
      'ACL',
      'SETUSER',
      'backstage-noset',
      'reset',
      ...MINIMAL_ACL('test:session:').filter(rule => rule !== '+set'),
    );
    const noSet = await backendAs('backstage-noset');
    try {
      const res = await fetch(`${noSet.authUrl}/start?env=development`, {
        redirect: 'manual',
      });
      expect(res.status).toBe(503);
      expect((await res.json()).error.message).toMatch(
        /^Session store \(Redis\) unavailable while saving the login transaction: NOPERM .*'set' command/,
      );
    } finally {
      await noSet.stop();
    }

    // the authenticator takes it inside Backstage's callback handler, which
    // reports every failure to the app (here: the redirect flow's URL)
    const taken = await callbackAs('backstage-nogetdel', '+getdel');
    expect(taken.status).toBe(302);
    const location = new URL(taken.headers.get('location')!);
    expect(location.origin).toBe('http://localhost:3000');
    expect(location.searchParams.get('error')).toMatch(
      /^Session store \(Redis\) unavailable while reading the login transaction: NOPERM .*'getdel' command/,
    );
    expect(taken.headers.getSetCookie().join()).not.toMatch(
      /keycloak-oidc-refresh-token=[^;]/,
    );
  });
});
