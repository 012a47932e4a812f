// @ts-check
import { createPublicKey, verify } from 'node:crypto';
import { errors } from 'oidc-provider';
import { claimsOf } from './users.mjs';

/** Claim order of a Keycloak access token (so the JSON is laid out alike). */
const KEYCLOAK_CLAIM_ORDER = [
  'exp',
  'iat',
  'jti',
  'iss',
  'aud',
  'sub',
  'typ',
  'azp',
  'sid',
  'session_state',
  'acr',
  'allowed-origins',
  'realm_access',
  'resource_access',
  'scope',
  'email_verified',
  'name',
  'preferred_username',
  'given_name',
  'family_name',
  'email',
];

/** Claims Keycloak's userinfo endpoint answers with (taken from the token). */
const USERINFO_CLAIMS = [
  'sub',
  'email_verified',
  'name',
  'preferred_username',
  'given_name',
  'family_name',
  'email',
];

const isJwt = (/** @type {unknown} */ value) =>
  typeof value === 'string' && value.split('.').length === 3;

const decodePart = (/** @type {string} */ part) =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** Keycloak's "+" web origins: the origins of the redirect URIs. */
function originsOf(/** @type {string[]} */ redirectUris) {
  const origins = new Set();
  for (const uri of redirectUris) {
    try {
      origins.add(new URL(uri.replace(/\*$/, '')).origin);
    } catch {
      // not a URL once the wildcard is gone: no origin to allow
    }
  }
  return [...origins];
}

/**
 * Keycloak-style JWT access tokens (`--jwt-access-tokens`).
 *
 * oidc-provider issues JWT access tokens only for a resource server, so the
 * realm gets one resource, Keycloak's `account` client (`<issuer>/account`,
 * audience `account`, like the `aud` of a Keycloak token with the default
 * roles), applied by default to the authorization request and to every
 * token request (authorization code and refresh) without the client sending
 * `resource`. Tokens are RS256 with the realm key and carry Keycloak's usual
 * claims, so their size is like a real Keycloak token's.
 *
 * oidc-provider does not store JWT access tokens and refuses them at
 * userinfo (they have an audience), introspection and revocation; the
 * middleware from `install` answers those like Keycloak does: userinfo from
 * the token's claims, introspection with the claims and `active` (valid
 * signature, not expired, not revoked, its grant/session still alive),
 * revocation of that one token.
 *
 * @param {{ issuer: string, realm: string, redirectUris: string[],
 *   users: import('./users.mjs').DevUser[], jwks: { keys: any[] },
 *   paths: { userinfo: string, introspection: string, revocation: string },
 *   introspectionAllowed: (ctx: any, client: any, token: any) => Promise<boolean>,
 *   revocationAllowed: (ctx: any, client: any, token: any) => Promise<boolean> }} options
 */
export function keycloakJwtAccessTokens({
  issuer,
  realm,
  redirectUris,
  users,
  jwks,
  paths,
  introspectionAllowed,
  revocationAllowed,
}) {
  const resource = `${issuer}/account`;
  const allowedOrigins = originsOf(redirectUris);
  const publicKeys = new Map(
    jwks.keys.map(jwk => [
      jwk.kid,
      createPublicKey({ key: jwk, format: 'jwk' }),
    ]),
  );

  /**
   * JWT access tokens issued by this process and not revoked:
   * jti → the grant and client they belong to. Lost on restart, like
   * Keycloak's sessions, so older tokens then introspect as inactive.
   * @type {Map<string, { grantId: string, clientId: string, exp: number }>}
   */
  const issued = new Map();
  let issuedSincePrune = 0;
  const remember = (
    /** @type {string} */ jti,
    /** @type {{ grantId: string, clientId: string, exp: number }} */ entry,
  ) => {
    issued.set(jti, entry);
    if (++issuedSincePrune >= 1000) {
      issuedSincePrune = 0;
      const now = Math.floor(Date.now() / 1000);
      for (const [id, { exp }] of issued) if (exp <= now) issued.delete(id);
    }
  };

  /** @type {any} */
  let provider;

  /**
   * The token's claims and record when it is one of ours and still active.
   * @param {unknown} value
   */
  async function activeToken(value) {
    if (!isJwt(value)) return undefined;
    const [header, body, signature] = /** @type {string} */ (value).split('.');
    let payload;
    try {
      const { alg, kid } = decodePart(header);
      const key = publicKeys.get(kid);
      if (alg !== 'RS256' || !key) return undefined;
      const data = Buffer.from(`${header}.${body}`);
      if (!verify('sha256', data, key, Buffer.from(signature, 'base64url'))) {
        return undefined;
      }
      payload = decodePart(body);
    } catch {
      return undefined;
    }
    if (payload.iss !== issuer) return undefined;
    if (!(payload.exp > Math.floor(Date.now() / 1000))) return undefined;
    const entry = issued.get(payload.jti);
    if (!entry) return undefined;
    if (!(await provider.Grant.find(entry.grantId))) return undefined;
    return { payload, entry };
  }

  return {
    /** Merged into the provider configuration. */
    configuration: {
      resourceIndicators: {
        enabled: true,
        defaultResource: async (
          /** @type {any} */ _ctx,
          /** @type {any} */ _client,
          /** @type {string[] | undefined} */ oneOf,
        ) => {
          if (!oneOf) return resource;
          return oneOf.includes(resource) ? resource : oneOf;
        },
        // Also when the token request does not repeat `resource`, and with
        // the `openid` scope (oidc-provider otherwise issues a userinfo-only
        // opaque token then).
        useGrantedResource: async () => true,
        getResourceServerInfo: async (
          /** @type {any} */ _ctx,
          /** @type {string} */ indicator,
        ) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: 'openid profile email offline_access',
            audience: 'account',
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },

      /**
       * @param {any} _ctx
       * @param {any} token
       */
      extraTokenClaims: async (_ctx, token) => {
        if (token.kind !== 'AccessToken' || token.format !== 'jwt') {
          return undefined;
        }
        const scopes = new Set(String(token.scope ?? '').split(' '));
        const user = users.find(u => u.sub === token.accountId);
        const claims = user ? claimsOf(user) : undefined;
        return {
          typ: 'Bearer',
          azp: token.clientId,
          sid: token.sid,
          session_state: token.sid,
          acr: '1',
          'allowed-origins': allowedOrigins,
          realm_access: {
            roles: [
              `default-roles-${realm}`,
              'offline_access',
              'uma_authorization',
            ],
          },
          resource_access: {
            account: {
              roles: ['manage-account', 'manage-account-links', 'view-profile'],
            },
          },
          ...(claims &&
            scopes.has('email') && { email_verified: claims.email_verified }),
          ...(claims &&
            scopes.has('profile') && {
              name: claims.name,
              preferred_username: claims.preferred_username,
              given_name: claims.given_name,
              family_name: claims.family_name,
            }),
          ...(claims && scopes.has('email') && { email: claims.email }),
        };
      },

      formats: {
        customizers: {
          /**
           * Keycloak's layout: header `typ: JWT`, claims in Keycloak's
           * order, no `client_id` (Keycloak has `azp`).
           * @param {any} _ctx
           * @param {any} token
           * @param {{ header?: object, payload: Record<string, any> }} jwt
           */
          jwt: async (_ctx, token, jwt) => {
            const { client_id: _clientId, ...payload } = jwt.payload;
            /** @type {Record<string, any>} */
            const ordered = {};
            for (const name of KEYCLOAK_CLAIM_ORDER) {
              if (payload[name] !== undefined) ordered[name] = payload[name];
            }
            for (const [name, value] of Object.entries(payload)) {
              if (value !== undefined && !(name in ordered)) {
                ordered[name] = value;
              }
            }
            jwt.header = { typ: 'JWT' };
            jwt.payload = ordered;
            remember(ordered.jti, {
              grantId: token.grantId,
              clientId: token.clientId,
              exp: ordered.exp,
            });
          },
        },
      },
    },

    /**
     * Userinfo, introspection and revocation for JWT access tokens.
     * @param {any} oidcProvider
     */
    install(oidcProvider) {
      provider = oidcProvider;
      provider.use(
        async (
          /** @type {any} */ ctx,
          /** @type {() => Promise<void>} */ next,
        ) => {
          await next();
          const error = ctx.body?.error;
          if (ctx.path === paths.userinfo && error === 'invalid_token') {
            let value;
            try {
              value = ctx.oidc.getAccessToken();
            } catch {
              return;
            }
            const found = await activeToken(value);
            if (!found) return;
            const scopes = String(found.payload.scope ?? '').split(' ');
            if (!scopes.includes('openid')) return;
            ctx.remove('WWW-Authenticate');
            ctx.status = 200;
            ctx.body = Object.fromEntries(
              USERINFO_CLAIMS.filter(
                name => found.payload[name] !== undefined,
              ).map(name => [name, found.payload[name]]),
            );
            return;
          }

          // oidc-provider answers unsupported_token_type for a JWT, after
          // authenticating the client and reading the parameters.
          if (
            error !== 'unsupported_token_type' ||
            !ctx.oidc?.client ||
            !isJwt(ctx.oidc.params?.token)
          ) {
            return;
          }
          const { client } = ctx.oidc;
          if (ctx.path === paths.introspection) {
            const found = await activeToken(ctx.oidc.params.token);
            ctx.status = 200;
            if (
              !found ||
              !(await introspectionAllowed(ctx, client, found.entry))
            ) {
              ctx.body = { active: false };
              return;
            }
            ctx.body = {
              ...found.payload,
              client_id: found.payload.azp,
              username: found.payload.preferred_username,
              token_type: 'Bearer',
              active: true,
            };
          } else if (ctx.path === paths.revocation) {
            // Like Keycloak: only this token is revoked, not the session.
            const found = await activeToken(ctx.oidc.params.token);
            if (found && (await revocationAllowed(ctx, client, found.entry))) {
              issued.delete(found.payload.jti);
            }
            ctx.status = 200;
            ctx.body = '';
          }
        },
      );
    },
  };
}
