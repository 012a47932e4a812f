// @ts-check

/**
 * oidc-provider's internal reason → the error_description Keycloak sends,
 * as real Keycloak 26.7.3 sent them to the real-Keycloak suite
 * (packages/e2e-test/src/keycloak): `Session not active` after an admin sign-out or
 * a restart without persistent user sessions, `Token is not active` for an
 * expired refresh token (SSO Session Idle), `Stale token` for a rotated-out
 * refresh token used again. Keycloak also says `User disabled`; the dev IdP
 * has no disabled users.
 */
const KEYCLOAK_REFRESH_ERRORS = {
  'refresh token not found': 'Session not active',
  'grant not found': 'Session not active',
  'grant is expired': 'Session not active',
  'refresh token is expired': 'Token is not active',
  'refresh token already used': 'Stale token',
  'client mismatch':
    "Invalid refresh token. Token client and authorized client don't match",
};

/**
 * Makes oidc-provider's token endpoint answer like Keycloak's:
 * - `invalid_grant` on refresh carries Keycloak's error_description
 *   (oidc-provider always says "grant request is invalid");
 * - responses with a refresh token carry `refresh_expires_in`.
 * Also counts grants for tests that want to know how often the IdP was hit.
 *
 * @param {any} provider
 * @param {{ tokenPath: string, userinfoPath: string, stats: Record<string, number>, log: (line: string) => void }} options
 */
export function installKeycloakCompat(
  provider,
  { tokenPath, userinfoPath, stats, log },
) {
  provider.on('grant.success', (/** @type {any} */ ctx) => {
    const grantType = ctx.oidc.params?.grant_type;
    if (grantType === 'refresh_token') stats.refreshGrants += 1;
    if (grantType === 'authorization_code') stats.codeGrants += 1;
  });

  provider.on(
    'grant.error',
    (/** @type {any} */ ctx, /** @type {any} */ error) => {
      ctx.state.grantErrorDetail = error.error_detail;
      const grantType = ctx.oidc?.params?.grant_type;
      if (grantType === 'refresh_token') stats.refreshErrors += 1;
      log(
        `${grantType} grant refused: ${error.error} (${error.error_detail ?? error.error_description})`,
      );
    },
  );

  provider.use(
    async (/** @type {any} */ ctx, /** @type {() => Promise<void>} */ next) => {
      await next();
      if (ctx.path === userinfoPath) stats.userinfoRequests += 1;
      if (ctx.path !== tokenPath || !ctx.body || typeof ctx.body !== 'object')
        return;
      const body = ctx.body;
      if (
        body.error === 'invalid_grant' &&
        ctx.oidc?.params?.grant_type === 'refresh_token'
      ) {
        const detail = /** @type {keyof typeof KEYCLOAK_REFRESH_ERRORS} */ (
          ctx.state.grantErrorDetail
        );
        ctx.body = {
          ...body,
          error_description:
            KEYCLOAK_REFRESH_ERRORS[detail] ?? 'Invalid refresh token',
        };
      } else if (ctx.status === 200 && typeof body.refresh_token === 'string') {
        const refreshToken = await provider.RefreshToken.find(
          body.refresh_token,
        );
        if (refreshToken?.exp) {
          const refreshExpiresIn = Math.max(
            0,
            refreshToken.exp - Math.floor(Date.now() / 1000),
          );
          ctx.body = { ...body, refresh_expires_in: refreshExpiresIn };
        }
      }
    },
  );
}

/**
 * The end-session page. Keycloak signs out without asking when
 * `id_token_hint` is present, so the form carries `logout=yes` itself and
 * submits itself: a browser finishes it by script, an HTTP client by POSTing
 * the form's fields (`xsrf`, `logout`) to its action.
 *
 * @param {any} ctx
 * @param {string} form oidc-provider's `<form id="op.logoutForm">` with the xsrf input
 */
export async function logoutSource(ctx, form) {
  const selfContained = form.replace(
    '</form>',
    '<input type="hidden" name="logout" value="yes"/><button type="submit" id="kc-logout">Sign out</button></form>',
  );
  ctx.type = 'html';
  ctx.body = `<!doctype html><html><head><meta charset="utf-8"><title>Signing out</title></head>
<body><p>Signing out&hellip;</p>${selfContained}
<script>document.forms[0].submit()</script></body></html>`;
}

/**
 * Shown after sign-out when no `post_logout_redirect_uri` was given.
 * @param {any} ctx
 */
export async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body =
    '<!doctype html><html><head><meta charset="utf-8"><title>Signed out</title></head><body><h1>You are logged out</h1></body></html>';
}

const escapeHtml = (/** @type {unknown} */ s) =>
  String(s).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);

/**
 * Error page for front-channel errors that cannot be redirected (e.g. an
 * unregistered redirect_uri), in Keycloak's wording style.
 * @param {any} ctx
 * @param {Record<string, unknown>} out error, error_description, …
 */
export async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = `<!doctype html><html><head><meta charset="utf-8"><title>Error</title></head><body>
<h1>We are sorry...</h1>${Object.entries(out)
    .map(([k, v]) => `<p><b>${escapeHtml(k)}</b>: ${escapeHtml(v)}</p>`)
    .join('')}</body></html>`;
}

/**
 * Introspection and revocation: like Keycloak, an authenticated client may
 * introspect any token and revoke its own.
 * @param {any} _ctx
 * @param {any} client
 * @param {any} token
 */
export const introspectionAllowed = async (_ctx, client, token) =>
  client.clientAuthMethod !== 'none' || token.clientId === client.clientId;

/**
 * @param {any} _ctx
 * @param {any} client
 * @param {any} token
 */
export const revocationAllowed = async (_ctx, client, token) =>
  token.clientId === client.clientId;
