import type { LoggerService } from '@backstage/backend-plugin-api';
import type { KeycloakProviderOptions } from './readProviderOptions';
import type { RedisConnectionOptions } from './readRedisConnectionOptions';
import type { SessionStoreOptions } from './readSessionStoreOptions';
import { InvalidConfigError } from './InvalidConfigError';

const OPT_OUT = 'auth.session.dangerouslyAllowInsecureProduction';

/** localhost, *.localhost, 127.0.0.0/8 and ::1: traffic that stays on the machine. */
export function isLocalHost(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '::1' ||
    /^127\.\d+\.\d+\.\d+$/.test(name)
  );
}

/** What makes a session store unfit for production, each naming its key. */
export function sessionStoreProblems(options: SessionStoreOptions): string[] {
  if (options.store === 'memory') {
    return [
      "auth.session.store: 'memory' loses every session on restart and is not shared between replicas; use redis",
    ];
  }
  const { redis } = options;
  if (
    redis.tls ||
    (redis.mode === 'standalone' && redis.url?.startsWith('rediss:'))
  ) {
    return [];
  }
  const remote = redisHosts(redis).filter(host => !isLocalHost(host));
  return remote.length > 0
    ? [
        `auth.session.redis: sessions and refresh tokens would travel unencrypted to ${remote.join(', ')}; configure redis.tls (or a rediss:// url)`,
      ]
    : [];
}

function redisHosts(redis: RedisConnectionOptions): string[] {
  switch (redis.mode) {
    case 'sentinel':
      return redis.sentinels.map(node => node.host);
    case 'cluster':
      return redis.nodes.map(node => node.host);
    default:
      return [
        redis.url ? new URL(redis.url).hostname : (redis.host ?? 'localhost'),
      ];
  }
}

/** What makes a provider environment unfit for production. */
export function providerProblems(options: KeycloakProviderOptions): string[] {
  const url = new URL(options.metadataUrl);
  return url.protocol === 'http:' && !isLocalHost(url.hostname)
    ? [
        `auth.providers.keycloak-oidc.<environment>.metadataUrl: ${url.origin} is plain HTTP; tokens and the client secret would travel unencrypted, use https`,
      ]
    : [];
}

/**
 * Under NODE_ENV=production, refuses to start with development defaults
 * (the memory store, plain HTTP to a remote Keycloak, Redis without TLS
 * over the network). `auth.session.dangerouslyAllowInsecureProduction: true`
 * turns each refusal into a warning at startup.
 */
export function enforceInProduction(
  problems: string[],
  options: { allowInsecure: boolean; logger: LoggerService; nodeEnv?: string },
): void {
  const nodeEnv = options.nodeEnv ?? process.env.NODE_ENV;
  if (nodeEnv !== 'production' || problems.length === 0) {
    return;
  }
  if (!options.allowInsecure) {
    const [first, ...more] = problems;
    throw new InvalidConfigError(
      first.slice(0, first.indexOf(':')),
      `${first.slice(first.indexOf(':') + 2)}${more.length ? `; also ${more.join('; ')}` : ''} (NODE_ENV=production; set ${OPT_OUT}: true to start anyway)`,
    );
  }
  for (const problem of problems) {
    options.logger.warn(
      `INSECURE IN PRODUCTION (${OPT_OUT} is set): ${problem}`,
      { phase: 'startup' },
    );
  }
}
