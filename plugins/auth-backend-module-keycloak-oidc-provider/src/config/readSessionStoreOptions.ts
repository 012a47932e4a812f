import type { Config } from '@backstage/config';
import {
  readEncryptionOptions,
  type EncryptionOptions,
} from './readEncryptionOptions';
import { InvalidConfigError, readInteger } from './InvalidConfigError';
import {
  readRedisConnectionOptions,
  type RedisConnectionOptions,
} from './readRedisConnectionOptions';

export type SessionStoreOptions = {
  /** Idle lifetime of a session in seconds; slides on every refresh. */
  ttlSeconds: number;
  /** How long a started login may take before its callback is refused. */
  loginTtlSeconds: number;
  /** At most this many logins started within `loginTtlSeconds`, over all clients */
  maxPendingLogins: number;
  /** Start in production despite development-only settings, with warnings */
  dangerouslyAllowInsecureProduction: boolean;
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
  /**
   * A refresh that does not call Keycloak reissues the Backstage token from
   * the identity the sign-in resolver gave within this many seconds,
   * instead of resolving the user again (0: always resolve).
   */
  identityCacheSeconds: number;
  /** Oldest sessions of a user beyond this are evicted at login (1 to 1000). */
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
      /** Server-wide keys: they only open token sets sealed before 0.3 */
      encryption?: EncryptionOptions;
    }
);

const DEFAULT_TTL_SECONDS = 86400;
/** An hour: a Backstage token's own lifetime */
const MAX_IDENTITY_CACHE_SECONDS = 3_600;
// Backstage's frontend refreshes once a token has less than 3 minutes left;
// a cached token must have more than that or the frontend would loop.
const DEFAULT_MIN_ACCESS_TOKEN_VALIDITY_SECONDS = 240;
/**
 * Seed 000 recommends one-hour access tokens in production; without this
 * bound the fast path would hide a session Keycloak ended for that long.
 */
const DEFAULT_KEYCLOAK_CHECK_INTERVAL_SECONDS = 60;
const DEFAULT_PREFIX = 'backstage:session:';
// Every per-user script (login, logout by sub) walks the user's sessions:
// a limit keeps their cost independent of how often one user signs in.
const DEFAULT_MAX_SESSIONS_PER_USER = 10;
const MAX_SESSIONS_PER_USER_LIMIT = 1000;
// A sign-in at Keycloak (with MFA) fits in 5 minutes; pending logins are
// what unauthenticated clients can make us store, so they are short-lived
// and counted (maxPendingLogins).
const LOGIN_TTL_SECONDS = 300;
const DEFAULT_MAX_PENDING_LOGINS = 10_000;
const PATH = 'auth.session.redis';

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
    throw new InvalidConfigError(
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
  // the same window as the Keycloak check unless told otherwise: a
  // Backstage token is then at most that stale on both counts
  const identityCacheSeconds =
    (session &&
      readInteger(session, 'identityCacheTtl', 'auth.session', {
        min: 0,
        max: MAX_IDENTITY_CACHE_SECONDS,
      })) ??
    Math.min(keycloakCheckIntervalSeconds, MAX_IDENTITY_CACHE_SECONDS);
  const maxSessionsPerUser =
    (session &&
      readInteger(session, 'maxSessionsPerUser', 'auth.session', {
        min: 1,
        max: MAX_SESSIONS_PER_USER_LIMIT,
      })) ??
    DEFAULT_MAX_SESSIONS_PER_USER;
  const maxPendingLogins =
    (session &&
      readInteger(session, 'maxPendingLogins', 'auth.session', {
        min: 1,
        max: 1_000_000,
      })) ??
    DEFAULT_MAX_PENDING_LOGINS;
  const adminPrincipals =
    session?.getOptionalStringArray('admin.allow')?.map(ref => {
      if (!/^\S+$/.test(ref)) {
        throw new InvalidConfigError(
          'auth.session.admin.allow',
          `'${ref}' is not an entity ref or service subject (e.g. user:default/alice, group:default/admins, ops-cli)`,
        );
      }
      return ref.toLocaleLowerCase('en-US');
    }) ?? [];
  const common = {
    ttlSeconds,
    loginTtlSeconds: LOGIN_TTL_SECONDS,
    maxPendingLogins,
    dangerouslyAllowInsecureProduction:
      session?.getOptionalBoolean('dangerouslyAllowInsecureProduction') ??
      false,
    minAccessTokenValiditySeconds,
    keycloakCheckIntervalSeconds,
    identityCacheSeconds,
    maxSessionsPerUser,
    adminPrincipals,
  };

  if (store === 'memory') {
    return { store, ...common };
  }
  if (!redis) {
    throw new InvalidConfigError(
      PATH,
      "is required when auth.session.store is 'redis' (set url, host, sentinels or cluster)",
    );
  }

  const prefix = redis.getOptionalString('prefix') ?? DEFAULT_PREFIX;
  if (prefix.length === 0 || /[{}\s]/.test(prefix)) {
    throw new InvalidConfigError(
      `${PATH}.prefix`,
      'must be a non-empty string without braces or whitespace',
    );
  }
  const durability = redis.getOptionalString('durability') ?? 'none';
  if (durability !== 'none' && durability !== 'replicated') {
    throw new InvalidConfigError(
      `${PATH}.durability`,
      `must be 'none' or 'replicated', got '${durability}'`,
    );
  }
  return {
    store,
    ...common,
    prefix,
    durability,
    encryption: readEncryptionOptions(rootConfig),
    redis: readRedisConnectionOptions(redis),
  };
}
