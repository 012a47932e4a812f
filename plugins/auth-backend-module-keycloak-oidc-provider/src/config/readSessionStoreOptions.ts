import type { Config } from '@backstage/config';

/** @public */
export interface RedisConnectionOptions {
  /** `redis://` or `rediss://` URL; explicit keys below override its parts */
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

/** @public */
export type SessionStoreOptions = {
  /** Idle lifetime of a session in seconds; slides on every refresh. */
  ttlSeconds: number;
  /** How long a started login may take before its callback is refused. */
  loginTtlSeconds: number;
} & (
  | { store: 'memory' }
  | { store: 'redis'; prefix: string; redis: RedisConnectionOptions }
);

const DEFAULT_TTL_SECONDS = 86400;
const DEFAULT_PREFIX = 'backstage:session:';
const LOGIN_TTL_SECONDS = 600;
const CONNECT_TIMEOUT_MS = 5000;
const COMMAND_TIMEOUT_MS = 2000;

class SessionConfigError extends Error {
  constructor(key: string, problem: string) {
    super(`Invalid auth session config at '${key}': ${problem}`);
    this.name = 'SessionConfigError';
  }
}

function readInteger(
  config: Config,
  key: string,
  path: string,
  { min, max }: { min: number; max: number },
): number | undefined {
  const value = config.getOptionalNumber(key);
  if (value === undefined) {
    return undefined;
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SessionConfigError(
      `${path}.${key}`,
      `must be an integer from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}

/**
 * Reads and validates `auth.session` once, at startup. Every problem names
 * the offending key so a misconfigured deployment fails fast and clearly.
 *
 * @public
 */
export function readSessionStoreOptions(
  rootConfig: Config,
): SessionStoreOptions {
  const session = rootConfig.getOptionalConfig('auth.session');
  const redisConfig = session?.getOptionalConfig('redis');
  const store =
    session?.getOptionalString('store') ?? (redisConfig ? 'redis' : 'memory');

  if (store !== 'redis' && store !== 'memory') {
    throw new SessionConfigError(
      'auth.session.store',
      `must be 'redis' or 'memory', got '${store}'`,
    );
  }

  const path = 'auth.session.redis';
  const ttlSeconds =
    (redisConfig &&
      readInteger(redisConfig, 'ttl', path, { min: 1, max: 31_536_000 })) ??
    DEFAULT_TTL_SECONDS;

  if (store === 'memory') {
    return { store, ttlSeconds, loginTtlSeconds: LOGIN_TTL_SECONDS };
  }
  if (!redisConfig) {
    throw new SessionConfigError(
      path,
      "is required when auth.session.store is 'redis' (set url or host)",
    );
  }

  const url = redisConfig.getOptionalString('url');
  if (url !== undefined && !/^rediss?:\/\/[^/]/.test(url)) {
    throw new SessionConfigError(
      `${path}.url`,
      'must be a redis:// or rediss:// URL',
    );
  }
  const host = redisConfig.getOptionalString('host');
  if (url === undefined && !host) {
    throw new SessionConfigError(path, 'needs either url or host');
  }
  const prefix = redisConfig.getOptionalString('prefix') ?? DEFAULT_PREFIX;
  if (prefix.length === 0 || /[{}\s]/.test(prefix)) {
    throw new SessionConfigError(
      `${path}.prefix`,
      'must be a non-empty string without braces or whitespace',
    );
  }

  return {
    store,
    ttlSeconds,
    loginTtlSeconds: LOGIN_TTL_SECONDS,
    prefix,
    redis: {
      url,
      host,
      port: readInteger(redisConfig, 'port', path, { min: 1, max: 65535 }),
      username: redisConfig.getOptionalString('username'),
      password: redisConfig.getOptionalString('password'),
      db: readInteger(redisConfig, 'db', path, { min: 0, max: 1024 }),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    },
  };
}
