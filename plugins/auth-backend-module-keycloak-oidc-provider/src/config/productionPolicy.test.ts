import { ConfigReader } from '@backstage/config';
import { CapturingLogger } from '@redis-session/test-support';
import {
  enforceInProduction,
  providerProblems,
  sessionStoreProblems,
} from './productionPolicy';
import { readProviderOptions } from './readProviderOptions';
import { readSessionStoreOptions } from './readSessionStoreOptions';

const session = (value: object) =>
  readSessionStoreOptions(new ConfigReader({ auth: { session: value } }));
const provider = (metadataUrl: string) =>
  readProviderOptions(
    new ConfigReader({ metadataUrl, clientId: 'c', clientSecret: 's' }),
    'https://backstage.example.com/api/auth/keycloak-oidc/handler/frame',
  );

describe('what is unfit for production', () => {
  it.each([
    [{ store: 'memory' }, /'memory' loses every session on restart/],
    [
      { redis: { host: 'redis.internal' } },
      /unencrypted to redis\.internal; configure redis\.tls/,
    ],
    [
      { redis: { url: 'redis://:pw@redis.internal:6379' } },
      /unencrypted to redis\.internal/,
    ],
    [
      {
        redis: {
          sentinels: [
            { host: '127.0.0.1', port: 26379 },
            { host: 'sentinel-2', port: 26379 },
          ],
          name: 'm',
        },
      },
      /unencrypted to sentinel-2;/,
    ],
  ])('the session store %j', (value, problem) => {
    expect(sessionStoreProblems(session(value))).toEqual([
      expect.stringMatching(problem),
    ]);
  });

  it.each([
    [{ redis: { host: 'localhost' } }],
    [{ redis: { url: 'redis://127.0.0.1:6379' } }],
    [{ redis: { url: 'rediss://redis.internal:6380' } }],
    [{ redis: { host: 'redis.internal', tls: {} } }],
  ])('but not %j', value => {
    expect(sessionStoreProblems(session(value))).toEqual([]);
  });

  it('a plain-HTTP Keycloak unless it is on this machine', () => {
    expect(
      providerProblems(provider('http://keycloak.internal/realms/r')),
    ).toEqual([
      expect.stringMatching(
        /^auth\.providers\.keycloak-oidc\.<environment>\.metadataUrl: http:\/\/keycloak\.internal is plain HTTP/,
      ),
    ]);
    expect(
      providerProblems(provider('http://localhost:8080/realms/r')),
    ).toEqual([]);
    expect(
      providerProblems(provider('https://kc.example.com/realms/r')),
    ).toEqual([]);
  });
});

describe('enforceInProduction', () => {
  const problems = sessionStoreProblems(session({ store: 'memory' }));

  it('refuses to start under NODE_ENV=production, naming the key and the opt-out', () => {
    const logger = new CapturingLogger();
    expect(() =>
      enforceInProduction(problems, {
        allowInsecure: false,
        logger,
        nodeEnv: 'production',
      }),
    ).toThrow(
      "Invalid config at 'auth.session.store': 'memory' loses every session on restart and is not shared between replicas; use redis (NODE_ENV=production; set auth.session.dangerouslyAllowInsecureProduction: true to start anyway)",
    );
  });

  it('only warns, loudly, with the opt-out', () => {
    const logger = new CapturingLogger();
    enforceInProduction(problems, {
      allowInsecure: true,
      logger,
      nodeEnv: 'production',
    });
    expect(logger.lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        message: expect.stringMatching(/^INSECURE IN PRODUCTION/),
      }),
    ]);
  });

  it('lets development and tests be', () => {
    const logger = new CapturingLogger();
    enforceInProduction(problems, {
      allowInsecure: false,
      logger,
      nodeEnv: 'development',
    });
    expect(logger.lines).toEqual([]);
  });
});
