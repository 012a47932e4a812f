import type { Config } from '@backstage/config';
import { readFileSync } from 'node:fs';
import { InvalidConfigError, readInteger } from './InvalidConfigError';

const PATH = 'auth.session.redis';
const CONNECT_TIMEOUT_MS = 5000;
const COMMAND_TIMEOUT_MS = 2000;

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

function readNodes(config: Config, key: string): RedisNodeAddress[] {
  const nodes = config.getConfigArray(key);
  if (nodes.length === 0) {
    throw new InvalidConfigError(`${PATH}.${key}`, 'needs at least one node');
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
    throw new InvalidConfigError(
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
    throw new InvalidConfigError(
      PATH,
      `set only one of url/host, sentinels or cluster (got ${kinds.join(', ')})`,
    );
  }

  if (redis.has('sentinels')) {
    const name = redis.getOptionalString('name');
    if (!name) {
      throw new InvalidConfigError(
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
      throw new InvalidConfigError(`${PATH}.db`, 'Redis Cluster only has db 0');
    }
    return { mode: 'cluster', nodes: readNodes(redis, 'cluster.nodes') };
  }
  if (url !== undefined && !/^rediss?:\/\/[^/]/.test(url)) {
    throw new InvalidConfigError(
      `${PATH}.url`,
      'must be a redis:// or rediss:// URL',
    );
  }
  const host = redis.getOptionalString('host');
  if (url === undefined && !host) {
    throw new InvalidConfigError(
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

/** Where and how to connect, from `auth.session.redis`. */
export function readRedisConnectionOptions(
  redis: Config,
): RedisConnectionOptions {
  const topology = readTopology(redis);
  return {
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
  };
}
