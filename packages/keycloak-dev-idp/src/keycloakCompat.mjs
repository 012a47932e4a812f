// @ts-check

/** oidc-provider's internal reason → the error_description Keycloak sends. */
const KEYCLOAK_REFRESH_ERRORS = {
  'refresh token not found': 'Session not active',
  'grant not found': 'Session not active',
  'refresh token is expired': 'Token is not active',
  'refresh token already used': 'Maximum allowed refresh token reuse exceeded',
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
 * @param {{ tokenPath: string, stats: Record<string, number>, log: (line: string) => void }} options
 */
export function installKeycloakCompat(provider, { tokenPath, stats, log }) {
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
