#!/usr/bin/env node
// @ts-check
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDevIdp } from './index.mjs';

const env = process.env;
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: env.DEV_IDP_PORT ?? '8180' },
    host: { type: 'string', default: env.DEV_IDP_HOST ?? '127.0.0.1' },
    'public-host': {
      type: 'string',
      default: env.DEV_IDP_PUBLIC_HOST ?? 'localhost',
    },
    'public-port': {
      type: 'string',
      default: env.DEV_IDP_PUBLIC_PORT || undefined,
    },
    realm: { type: 'string', default: env.DEV_IDP_REALM ?? 'backstage' },
    'client-id': {
      type: 'string',
      default: env.DEV_IDP_CLIENT_ID ?? 'backstage',
    },
    'client-secret': {
      type: 'string',
      default: env.DEV_IDP_CLIENT_SECRET ?? 'backstage-dev-secret',
    },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    'backchannel-logout-uri': {
      type: 'string',
      default: env.DEV_IDP_BACKCHANNEL_LOGOUT_URI || undefined,
    },
    'access-token-ttl': {
      type: 'string',
      default: env.DEV_IDP_ACCESS_TOKEN_TTL ?? '300',
    },
    'refresh-token-ttl': {
      type: 'string',
      default: env.DEV_IDP_REFRESH_TOKEN_TTL ?? '1800',
    },
    'session-ttl': {
      type: 'string',
      default: env.DEV_IDP_SESSION_TTL ?? '36000',
    },
    'no-rotate-refresh-tokens': {
      type: 'boolean',
      default: env.DEV_IDP_ROTATE_REFRESH_TOKENS === 'false',
    },
    'keys-file': { type: 'string', default: env.DEV_IDP_KEYS_FILE },
    'users-file': { type: 'string', default: env.DEV_IDP_USERS_FILE },
    'jwt-access-tokens': {
      type: 'boolean',
      default: env.DEV_IDP_JWT_ACCESS_TOKENS === 'true',
    },
    'allow-production': {
      type: 'boolean',
      default: env.DEV_IDP_ALLOW_PRODUCTION === 'true',
    },
    'claims-at-userinfo-only': {
      type: 'boolean',
      default: env.DEV_IDP_CLAIMS_AT_USERINFO_ONLY === 'true',
    },
  },
});

// A development stand-in must not end up serving real users by accident.
if (env.NODE_ENV === 'production' && !values['allow-production']) {
  console.error(
    'keycloak-dev-idp: refusing to start with NODE_ENV=production: it is a development stand-in for Keycloak (a public default client secret, unauthenticated /dev endpoints, sessions only in memory). Use Keycloak, or pass --allow-production (DEV_IDP_ALLOW_PRODUCTION=true) to force it.',
  );
  process.exit(2);
}

// The default client secret is in this repository: fine on loopback, where
// only this machine can use it, not on an address others can reach.
const loopback = /^(127\.|::1$|localhost$)/;
if (
  !loopback.test(values.host) &&
  values['client-secret'] === 'backstage-dev-secret'
) {
  console.error(
    `keycloak-dev-idp: refusing to listen on ${values.host} with the public default client secret; pass --client-secret (DEV_IDP_CLIENT_SECRET) or listen on 127.0.0.1`,
  );
  process.exit(2);
}

const list = (
  /** @type {string[] | undefined} */ flag,
  /** @type {string | undefined} */ fromEnv,
) => flag ?? fromEnv?.split(',').filter(Boolean);
const number = (
  /** @type {string} */ name,
  /** @type {string | undefined} */ value,
) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    console.error(
      `keycloak-dev-idp: --${name} must be a non-negative integer, got '${value}'`,
    );
    process.exit(2);
  }
  return n;
};

/** The realm's users from --users-file (a JSON array), else the defaults */
const readUsers = (/** @type {string | undefined} */ file) => {
  if (!file) return undefined;
  const users = JSON.parse(readFileSync(file, 'utf8'));
  const fields = ['sub', 'username', 'password', 'email', 'givenName'];
  const bad = Array.isArray(users)
    ? users.findIndex(
        u => !fields.every(f => typeof u?.[f] === 'string' && u[f]),
      )
    : 0;
  if (bad >= 0) {
    console.error(
      `keycloak-dev-idp: --users-file ${file} must be a JSON array of users with ${fields.join(', ')} (and familyName); entry ${bad} is not`,
    );
    process.exit(2);
  }
  return users.map(u => ({ familyName: '', ...u }));
};

const port = number('port', values.port);
const realm = /** @type {string} */ (values.realm);
const idp = await startDevIdp({
  port,
  host: values.host,
  publicHost: values['public-host'],
  publicPort:
    values['public-port'] === undefined
      ? undefined
      : number('public-port', values['public-port']),
  realm,
  clientId: values['client-id'],
  clientSecret: values['client-secret'],
  redirectUris: list(values['redirect-uri'], env.DEV_IDP_REDIRECT_URIS),
  postLogoutRedirectUris: list(
    values['post-logout-redirect-uri'],
    env.DEV_IDP_POST_LOGOUT_REDIRECT_URIS,
  ),
  backchannelLogoutUri: values['backchannel-logout-uri'],
  accessTokenTtl: number('access-token-ttl', values['access-token-ttl']),
  refreshTokenTtl: number('refresh-token-ttl', values['refresh-token-ttl']),
  sessionTtl: number('session-ttl', values['session-ttl']),
  rotateRefreshTokens: !values['no-rotate-refresh-tokens'],
  jwtAccessTokens: values['jwt-access-tokens'],
  claimsAtUserinfoOnly: values['claims-at-userinfo-only'],
  users: readUsers(values['users-file']),
  keysFile:
    values['keys-file'] ??
    join(tmpdir(), `keycloak-dev-idp-${realm}-${port}-jwks.json`),
});

console.log(`keycloak-dev-idp ready issuer=${idp.issuer}`);

const stop = async () => {
  await idp.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
