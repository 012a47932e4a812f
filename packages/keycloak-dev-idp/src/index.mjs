// @ts-check
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import {
  countBackchannelLogouts,
  createUserLogoutHandler,
} from './backchannelLogout.mjs';
import { accountFinder, createInteractionHandler } from './interactions.mjs';
import { keycloakJwtAccessTokens } from './jwtAccessTokens.mjs';
import { loadOrCreateJwks } from './keys.mjs';
import {
  installKeycloakCompat,
  introspectionAllowed,
  logoutSource,
  renderError,
  revocationAllowed,
  postLogoutSuccessSource,
} from './keycloakCompat.mjs';
import { createMemoryAdapter } from './memoryAdapter.mjs';
import { redirectMatcher } from './redirectPatterns.mjs';
import { defaultUsers } from './users.mjs';

const OIDC = '/protocol/openid-connect';

/**
 * @typedef {object} DevIdpOptions
 * @property {number} [port] 8180; 0 picks a free port
 * @property {string} [host] listen address, default 127.0.0.1
 * @property {string} [publicHost] host in the issuer URL, default localhost
 * @property {number} [publicPort] port in the issuer URL, default the one it
 *   listens on: set it when it is reached through a proxy on another port
 * @property {string} [realm] default 'backstage'
 * @property {string} [clientId] default 'backstage'
 * @property {string} [clientSecret] default 'backstage-dev-secret'
 * @property {string[]} [redirectUris] Keycloak-style, a trailing * matches by prefix
 * @property {string[]} [postLogoutRedirectUris] likewise
 * @property {string} [backchannelLogoutUri] the client's OIDC back-channel
 *   logout URL; unset: no logout tokens are sent
 * @property {number} [accessTokenTtl] seconds, default 300 (Keycloak's default)
 * @property {number} [refreshTokenTtl] seconds, default 1800 (SSO Session Idle)
 * @property {number} [sessionTtl] seconds, default 36000 (SSO Session Max)
 * @property {boolean} [rotateRefreshTokens] default true; reuse of a rotated token is refused
 * @property {string} [keysFile] JWKS file that keeps the signing key across restarts
 * @property {boolean} [jwtAccessTokens] default false (opaque access tokens);
 *   true: Keycloak-like RS256 JWT access tokens (audience `account`, realm
 *   and client roles, profile claims), see jwtAccessTokens.mjs
 * @property {boolean} [claimsAtUserinfoOnly] default false (Keycloak's
 *   default: profile and email claims in the ID token too); true: only at
 *   userinfo, as a realm whose mappers have "Add to ID token" off
 * @property {import('./users.mjs').DevUser[]} [users]
 * @property {(line: string) => void} [log]
 */

/** @param {string | undefined} address */
function isLoopback(address) {
  return address === '::1' || /^(::ffff:)?127\./.test(address ?? '');
}

/**
 * Starts a Keycloak-compatible OpenID Provider: Keycloak's URL layout,
 * refresh tokens without offline_access, Keycloak's invalid_grant wording and
 * `refresh_expires_in`, sessions only in memory (a restart is a Keycloak
 * restart that loses every session).
 *
 * @param {DevIdpOptions} [options]
 */
export async function startDevIdp(options = {}) {
  const o = {
    port: 8180,
    host: '127.0.0.1',
    publicHost: 'localhost',
    publicPort: /** @type {number | undefined} */ (undefined),
    realm: 'backstage',
    clientId: 'backstage',
    clientSecret: 'backstage-dev-secret',
    redirectUris: [
      'http://localhost:7007/api/auth/keycloak-oidc/handler/frame',
    ],
    postLogoutRedirectUris: [
      'http://localhost:3000*',
      'http://localhost:7007*',
    ],
    backchannelLogoutUri: /** @type {string | undefined} */ (undefined),
    accessTokenTtl: 300,
    refreshTokenTtl: 1800,
    sessionTtl: 36000,
    rotateRefreshTokens: true,
    keysFile: /** @type {string | undefined} */ (undefined),
    jwtAccessTokens: false,
    claimsAtUserinfoOnly: false,
    users: defaultUsers,
    log: (/** @type {string} */ line) =>
      console.log(`[keycloak-dev-idp] ${line}`),
    // an option given as undefined (e.g. an unset CLI flag) keeps its default
    ...Object.fromEntries(
      Object.entries(options).filter(([, value]) => value !== undefined),
    ),
  };
  const realmPath = `/realms/${o.realm}`;
  const stats = {
    refreshGrants: 0,
    refreshErrors: 0,
    codeGrants: 0,
    userinfoRequests: 0,
    backchannelLogouts: 0,
    backchannelLogoutErrors: 0,
  };

  // Set once the provider exists: the server listens first, as the issuer
  // needs the port it got; until then requests get 503.
  /** @type {((req: any, res: any) => void) | undefined} */
  // eslint-disable-next-line prefer-const
  let handler;
  let tokenDelayMs = 0;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve(undefined));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const issuer = `http://${o.publicHost}:${o.publicPort ?? port}${realmPath}`;

  const adapter = createMemoryAdapter();
  const jwks = loadOrCreateJwks(o.keysFile);
  const jwtAccessTokens = o.jwtAccessTokens
    ? keycloakJwtAccessTokens({
        issuer,
        realm: o.realm,
        redirectUris: o.redirectUris,
        users: o.users,
        jwks,
        paths: {
          userinfo: `${OIDC}/userinfo`,
          introspection: `${OIDC}/token/introspect`,
          revocation: `${OIDC}/revoke`,
        },
        introspectionAllowed,
        revocationAllowed,
      })
    : undefined;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: o.clientId,
        client_secret: o.clientSecret,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        // client_secret_post is accepted too (oidc-provider allows both for
        // a client registered with either).
        token_endpoint_auth_method: 'client_secret_basic',
        // Real checks use the Keycloak-style patterns (see below); these only
        // satisfy registration validation.
        redirect_uris: ['https://dev-idp.invalid/callback'],
        post_logout_redirect_uris: ['https://dev-idp.invalid/signed-out'],
        // Keycloak's "Backchannel logout session required" is on by default:
        // logout tokens carry the session's sid.
        backchannel_logout_session_required: true,
        ...(o.backchannelLogoutUri && {
          backchannel_logout_uri: o.backchannelLogoutUri,
        }),
      },
    ],
    routes: {
      authorization: `${OIDC}/auth`,
      token: `${OIDC}/token`,
      userinfo: `${OIDC}/userinfo`,
      jwks: `${OIDC}/certs`,
      end_session: `${OIDC}/logout`,
      revocation: `${OIDC}/revoke`,
      introspection: `${OIDC}/token/introspect`,
    },
    // Sessions, grants and tokens only in this process's memory: a restart
    // loses them all, like a Keycloak restart.
    adapter,
    // oidc-provider refuses to send logout tokens to loopback and private
    // addresses (SSRF protection for a public OP); a development IdP talks to
    // a backend on localhost, as Keycloak talks to backends on its network.
    fetch: (url, { dispatcher: _ssrfGuard, ...init }) =>
      globalThis.fetch(url, init),
    jwks,
    cookies: { keys: ['keycloak-dev-idp-cookie-key'] },
    findAccount: accountFinder(o.users),
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    },
    // Keycloak puts the profile and email claims in the ID token, unless the
    // realm's mappers have "Add to ID token" off: then only userinfo has them
    // (oidc-provider's conforming mode, for the code flow).
    conformIdTokenClaims: o.claimsAtUserinfoOnly,
    ...(jwtAccessTokens && {
      extraTokenClaims: jwtAccessTokens.configuration.extraTokenClaims,
      formats: jwtAccessTokens.configuration.formats,
    }),
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx, client) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => o.rotateRefreshTokens,
    ttl: {
      AccessToken: o.accessTokenTtl,
      IdToken: o.accessTokenTtl,
      RefreshToken: o.refreshTokenTtl,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: o.sessionTtl,
      Grant: o.sessionTtl,
    },
    renderError,
    interactions: {
      url: (_ctx, interaction) => `${realmPath}/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true, allowedPolicy: revocationAllowed },
      introspection: { enabled: true, allowedPolicy: introspectionAllowed },
      backchannelLogout: { enabled: true },
      ...(jwtAccessTokens && {
        resourceIndicators: jwtAccessTokens.configuration.resourceIndicators,
      }),
      rpInitiatedLogout: {
        enabled: true,
        // Keycloak signs out without asking when id_token_hint is present.
        logoutSource,
        postLogoutSuccessSource,
      },
    },
  });

  // Keycloak-style redirect URI patterns (trailing * = prefix match).
  const redirectAllowed = redirectMatcher(o.redirectUris);
  const postLogoutAllowed = redirectMatcher(o.postLogoutRedirectUris);
  provider.Client.prototype.redirectUriAllowed = redirectAllowed;
  provider.Client.prototype.postLogoutRedirectUriAllowed = postLogoutAllowed;
  // Keycloak always puts the session id (`sid`) in its tokens.
  provider.Client.prototype.includeSid = () => true;

  installKeycloakCompat(provider, {
    tokenPath: `${OIDC}/token`,
    userinfoPath: `${OIDC}/userinfo`,
    stats,
    log: o.log,
  });
  jwtAccessTokens?.install(provider);
  countBackchannelLogouts(provider, { stats, log: o.log });
  provider.on('server_error', (_ctx, error) =>
    o.log(`server error: ${error.message}`),
  );

  const handleInteraction = createInteractionHandler({
    provider,
    realmPath,
    realm: o.realm,
    users: o.users,
    log: o.log,
  });
  const handleUserLogout = createUserLogoutHandler({
    provider,
    sessions: () => adapter.entries('Session'),
    users: o.users,
    log: o.log,
  });
  const callback = provider.callback();

  handler = async (req, res) => {
    const url = req.url ?? '/';
    if (
      url !== realmPath &&
      !url.startsWith(`${realmPath}/`) &&
      !url.startsWith(`${realmPath}?`)
    ) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    req.originalUrl = url;
    req.url = url.slice(realmPath.length) || '/';
    const path = req.url.split('?')[0];
    try {
      // test hooks (stats, admin-style sign-out): only for this machine,
      // even when the IdP listens on all interfaces
      if (path.startsWith('/dev/') && !isLoopback(req.socket.remoteAddress)) {
        res
          .writeHead(403, { 'content-type': 'text/plain' })
          .end('The /dev endpoints answer only requests from this machine');
        return;
      }
      if (path === '/dev/stats') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(stats));
        return;
      }
      if (path === '/dev/token-delay' && req.method === 'POST') {
        // a slow Keycloak: token endpoint answers are sent this much later,
        // after the grant was processed (a rotated token is spent already)
        tokenDelayMs = Number(new URL(url, issuer).searchParams.get('ms') ?? 0);
        res.writeHead(204).end();
        return;
      }
      if (
        path.startsWith('/dev/users/') &&
        (await handleUserLogout(req, res, path))
      ) {
        return;
      }
      if (path === '/protocol/openid-connect/token' && tokenDelayMs > 0) {
        const delay = tokenDelayMs;
        const end = res.end.bind(res);
        // @ts-ignore: same signature, answered later
        res.end = (...args) => {
          setTimeout(() => end(...args), delay);
          return res;
        };
      }
      if (
        path.startsWith('/interaction/') &&
        (await handleInteraction(req, res, path))
      ) {
        return;
      }
      callback(req, res);
    } catch (error) {
      o.log(`request failed: ${/** @type {Error} */ (error).message}`);
      if (!res.headersSent) {
        res.writeHead(400, { 'content-type': 'text/plain' });
      }
      res.end(`Request failed: ${/** @type {Error} */ (error).message}`);
    }
  };

  return {
    issuer,
    port,
    server,
    provider,
    stats,
    close: () =>
      new Promise(resolve => {
        server.closeAllConnections?.();
        server.close(() => resolve(undefined));
      }),
  };
}
