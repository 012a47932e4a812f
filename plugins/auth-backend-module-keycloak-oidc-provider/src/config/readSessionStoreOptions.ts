import type { Config } from '@backstage/config';
import { readFileSync } from 'node:fs';
import {
  readEncryptionOptions,
  type EncryptionOptions,
} from './readEncryptionOptions';

export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** TLS material, already read from files where paths were given. */
export interface RedisTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  rejectUnauthorized: boolean;
}

/** Which Redis deployment the module talks to. */
export type RedisTopology =
  | {
      mode: 'standalone';
      /** `redis://` or `rediss://` URL; explicit keys override its parts */
      url?: string;
      host?: string;
      port?: number;
      db?: number;
    }
  | {
      mode: 'sentinel';
      sentinels: RedisNodeAddress[];
      /** the monitored master's name */
      name: string;
      sentinelUsername?: string;
      sentinelPassword?: string;
      db?: number;
    }
  | { mode: 'cluster'; nodes: RedisNodeAddress[] };

export type RedisConnectionOptions = RedisTopology & {
  username?: string;
  password?: string;
  tls?: RedisTlsOptions;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
};

export type SessionStoreOptions = {
  /** Idle lifetime of a session in seconds; slides on every refresh. */
  ttlSeconds: number;
  /** How long a started login may take before its callback is refused. */
  loginTtlSeconds: number;
  /**
   * `/refresh` answers from the stored tokens, without calling Keycloak,
   * while the access token stays valid at least this long (0: always call).
   */
  minAccessTokenValiditySeconds: number;
  /**
   * The fast path answers only within this many seconds of Keycloak last
   * confirming the session (0: always call Keycloak).
   */
  keycloakCheckIntervalSeconds: number;
  /** Oldest sessions of a user beyond this are evicted at login (0: no limit). */
  maxSessionsPerUser: number;
  /**
   * Who may use the session admin API: user entity refs, group refs the
   * user belongs to, or service principal subjects (a static token's
   * `subject`, or `plugin:<pluginId>`).
   */
  adminPrincipals: string[];
} & (
  | { store: 'memory' }
  | {
      store: 'redis';
      prefix: string;
      redis: RedisConnectionOptions;
      /**
       * `replicated`: a session write returns only once at least one replica
       * acknowledged it (WAIT), so a failover does not lose it.
       */
      durability: 'none' | 'replicated';
      /** Seals token sets at rest; unset keeps them as plain JSON. */
      encryption?: EncryptionOptions;
    }
);

const DEFAULT_TTL_SECONDS = 86400;
// Backstage's frontend refreshes once a token has less than 3 minutes left;
// a cached token must have more than that or the frontend would loop.
const DEFAULT_MIN_ACCESS_TOKEN_VALIDITY_SECONDS = 240;
/**
 * Seed 000 recommends one-hour access tokens in production; without this
 * bound the fast path would hide a session Keycloak ended for that long.
 */
const DEFAULT_KEYCLOAK_CHECK_INTERVAL_SECONDS = 60;
const DEFAULT_PREFIX = 'backstage:session:';
const LOGIN_TTL_SECONDS = 600;
const CONNECT_TIMEOUT_MS = 5000;
const COMMAND_TIMEOUT_MS = 2000;
const PATH = 'auth.session.redis';

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

function readNodes(config: Config, key: string): RedisNodeAddress[] {
  const nodes = config.getConfigArray(key);
  if (nodes.length === 0) {
    throw new SessionConfigError(`${PATH}.${key}`, 'needs at least one node');
  }
  return nodes.map((node, i) => ({
    host: node.getString('host'),
    port:
      readInteger(node, 'port', `${PATH}.${key}[${i}]`, {
        min: 1,
        max: 65535,
      }) ?? 6379,
  }));
}

/** Inline PEM is used as is; anything else is a file path. */
function readPem(config: Config, key: string): string | undefined {
  const value = config.getOptionalString(key);
  if (value === undefined || value.includes('-----BEGIN')) {
    return value;
  }
  try {
    return readFileSync(value, 'utf8');
  } catch (error) {
    throw new SessionConfigError(
      `${PATH}.tls.${key}`,
      `cannot read file '${value}': ${(error as Error).message}`,
    );
  }
}

function readTls(redis: Config, url?: string): RedisTlsOptions | undefined {
  const tls = redis.getOptionalConfig('tls');
  if (!tls) {
    return url?.startsWith('rediss://')
      ? { rejectUnauthorized: true }
      : undefined;
  }
  return {
    ca: readPem(tls, 'ca'),
    cert: readPem(tls, 'cert'),
    key: readPem(tls, 'key'),
    servername: tls.getOptionalString('servername'),
    rejectUnauthorized: tls.getOptionalBoolean('rejectUnauthorized') ?? true,
  };
}

function readTopology(redis: Config): RedisTopology {
  const url = redis.getOptionalString('url');
  const db = readInteger(redis, 'db', PATH, { min: 0, max: 1024 });
  const kinds = [
    url !== undefined || redis.has('host') ? 'url/host' : undefined,
    redis.has('sentinels') ? 'sentinels' : undefined,
    redis.has('cluster') ? 'cluster' : undefined,
  ].filter(Boolean);
  if (kinds.length > 1) {
    throw new SessionConfigError(
      PATH,
      `set only one of url/host, sentinels or cluster (got ${kinds.join(', ')})`,
    );
  }

  if (redis.has('sentinels')) {
    const name = redis.getOptionalString('name');
    if (!name) {
      throw new SessionConfigError(
        `${PATH}.name`,
        'is required with sentinels (the monitored master name, e.g. mymaster)',
      );
    }
    return {
      mode: 'sentinel',
      sentinels: readNodes(redis, 'sentinels'),
      name,
      sentinelUsername: redis.getOptionalString('sentinelUsername'),
      sentinelPassword: redis.getOptionalString('sentinelPassword'),
      db,
    };
  }
  if (redis.has('cluster')) {
    if (db) {
      throw new SessionConfigError(`${PATH}.db`, 'Redis Cluster only has db 0');
    }
    return { mode: 'cluster', nodes: readNodes(redis, 'cluster.nodes') };
  }
  if (url !== undefined && !/^rediss?:\/\/[^/]/.test(url)) {
    throw new SessionConfigError(
      `${PATH}.url`,
      'must be a redis:// or rediss:// URL',
    );
  }
  const host = redis.getOptionalString('host');
  if (url === undefined && !host) {
    throw new SessionConfigError(
      PATH,
      'needs one of url, host, sentinels or cluster',
    );
  }
  return {
    mode: 'standalone',
    url,
    host,
    port: readInteger(redis, 'port', PATH, { min: 1, max: 65535 }),
    db,
  };
}

/**
 * Reads and validates `auth.session` once, at startup. Every problem names
 * the offending key so a misconfigured deployment fails fast and clearly.
 */
export function readSessionStoreOptions(
  rootConfig: Config,
): SessionStoreOptions {
  const session = rootConfig.getOptionalConfig('auth.session');
  const redis = session?.getOptionalConfig('redis');
  const store =
    session?.getOptionalString('store') ?? (redis ? 'redis' : 'memory');

  if (store !== 'redis' && store !== 'memory') {
    throw new SessionConfigError(
      'auth.session.store',
      `must be 'redis' or 'memory', got '${store}'`,
    );
  }

  const ttlSeconds =
    (redis && readInteger(redis, 'ttl', PATH, { min: 1, max: 31_536_000 })) ??
    DEFAULT_TTL_SECONDS;

  const minAccessTokenValiditySeconds =
    (session &&
      readInteger(session, 'minAccessTokenValidity', 'auth.session', {
        min: 0,
        max: 86_400,
      })) ??
    DEFAULT_MIN_ACCESS_TOKEN_VALIDITY_SECONDS;
  const keycloakCheckIntervalSeconds =
    (session &&
      readInteger(session, 'keycloakCheckInterval', 'auth.session', {
        min: 0,
        max: 86_400,
      })) ??
    DEFAULT_KEYCLOAK_CHECK_INTERVAL_SECONDS;
  const maxSessionsPerUser =
    (session &&
      readInteger(session, 'maxSessionsPerUser', 'auth.session', {
        min: 0,
        max: 10_000,
      })) ??
    0;
  const adminPrincipals =
    session?.getOptionalStringArray('admin.allow')?.map(ref => {
      if (!/^\S+$/.test(ref)) {
        throw new SessionConfigError(
          'auth.session.admin.allow',
          `'${ref}' is not an entity ref or service subject (e.g. user:default/alice, group:default/admins, ops-cli)`,
        );
      }
      return ref.toLocaleLowerCase('en-US');
    }) ?? [];
  const common = {
    ttlSeconds,
    loginTtlSeconds: LOGIN_TTL_SECONDS,
    minAccessTokenValiditySeconds,
    keycloakCheckIntervalSeconds,
    maxSessionsPerUser,
    adminPrincipals,
  };

  if (store === 'memory') {
    return { store, ...common };
  }
  if (!redis) {
    throw new SessionConfigError(
      PATH,
      "is required when auth.session.store is 'redis' (set url, host, sentinels or cluster)",
    );
  }

  const prefix = redis.getOptionalString('prefix') ?? DEFAULT_PREFIX;
  if (prefix.length === 0 || /[{}\s]/.test(prefix)) {
    throw new SessionConfigError(
      `${PATH}.prefix`,
      'must be a non-empty string without braces or whitespace',
    );
  }
  const durability = redis.getOptionalString('durability') ?? 'none';
  if (durability !== 'none' && durability !== 'replicated') {
    throw new SessionConfigError(
      `${PATH}.durability`,
      `must be 'none' or 'replicated', got '${durability}'`,
    );
  }
  const topology = readTopology(redis);

  return {
    store,
    ...common,
    prefix,
    durability,
    encryption: readEncryptionOptions(rootConfig),
    redis: {
      ...topology,
      username: redis.getOptionalString('username'),
      password: redis.getOptionalString('password'),
      tls: readTls(
        redis,
        topology.mode === 'standalone' ? topology.url : undefined,
      ),
      connectTimeoutMs:
        readInteger(redis, 'connectTimeout', PATH, { min: 1, max: 600_000 }) ??
        CONNECT_TIMEOUT_MS,
      commandTimeoutMs:
        readInteger(redis, 'commandTimeout', PATH, { min: 1, max: 600_000 }) ??
        COMMAND_TIMEOUT_MS,
    },
  };
}
