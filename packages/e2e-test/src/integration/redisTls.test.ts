import { Redis } from 'ioredis';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import { startKeycloakTestBackend } from '../fixtures/KeycloakTestBackend';
import { RedisServer } from '@redis-session/test-support';
import { refresh, signIn } from '../fixtures/signIn';
import { createTestPki, type TestPki } from '../fixtures/tlsCertificates';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';

jest.setTimeout(60_000);

describe('Redis over TLS (rediss:// with CA verification)', () => {
  let idp: DevIdp;
  let pki: TestPki;
  let redisServer: RedisServer;

  beforeAll(async () => {
    pki = await createTestPki();
    [idp, redisServer] = await Promise.all([
      DevIdp.start(),
      RedisServer.start({ tls: pki }),
    ]);
  });

  afterAll(async () => {
    await redisServer?.dispose();
    await idp?.stop();
  });

  it('runs the flow with the CA given as a file path', async () => {
    const backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      session: {
        store: 'redis',
        redis: {
          url: `rediss://localhost:${redisServer.port}`,
          prefix: 'test:session:',
          tls: { ca: pki.caFile },
        },
      },
    });
    try {
      const browser = new Browser();
      await signIn(browser, backend.authUrl, 'alice');
      expect((await refresh(browser, backend.authUrl)).status).toBe(200);

      // the session really is in the TLS-only Redis
      const inspector = new Redis({
        port: redisServer.port,
        host: '127.0.0.1',
        tls: { ca: pki.caPem, servername: 'localhost' },
      });
      expect(await inspector.keys(sessionKeyPattern())).toHaveLength(1);
      inspector.disconnect();
    } finally {
      await backend.stop();
    }
  });

  it('accepts the CA as inline PEM', async () => {
    const backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      session: {
        store: 'redis',
        redis: {
          host: 'localhost',
          port: redisServer.port,
          prefix: 'test:session:',
          tls: { ca: pki.caPem },
        },
      },
    });
    try {
      const browser = new Browser();
      await signIn(browser, backend.authUrl, 'bob');
      expect((await refresh(browser, backend.authUrl)).status).toBe(200);
    } finally {
      await backend.stop();
    }
  });

  it('refuses a server its CA did not sign, with a clear error and 503s', async () => {
    const backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      session: {
        store: 'redis',
        redis: {
          url: `rediss://localhost:${redisServer.port}`,
          prefix: 'test:session:',
          tls: { ca: pki.otherCaFile },
          connectTimeout: 1000,
        },
      },
    });
    try {
      const errors = backend.logger.lines.filter(l => l.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0].message).toMatch(
        /^keycloak-oidc session store cannot reach Redis at rediss:\/\/localhost:\d+\/?: .*(self-signed|unable to verify|certificate)/,
      );
      const res = await fetch(
        `${backend.authUrl}/start?env=development&flow=redirect&redirectUrl=${encodeURIComponent('http://localhost:3000/')}`,
        { redirect: 'manual' },
      );
      expect(res.status).toBe(503);
      expect((await res.json()).error.message).toMatch(
        /^Session store \(Redis\) unavailable while saving the login transaction: .*\(connection: .*(self-signed|unable to verify|certificate)/,
      );
    } finally {
      await backend.stop();
    }
  });
});
