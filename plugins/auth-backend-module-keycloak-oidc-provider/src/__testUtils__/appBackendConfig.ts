/**
 * Config for an example backend process that serves the built app itself
 * (app.baseUrl = backend.baseUrl = `publicUrl`, as in a one-origin
 * production deployment) with sessions in the given Redis.
 *
 * `minAccessTokenValidity: 0`: every refresh asks Keycloak, so a dead
 * Keycloak session shows on the next reload instead of once the stored
 * access token gets close to expiry (up to a minute with the default 240 s
 * and Keycloak's 5-minute tokens).
 */
export function appBackendConfig(options: {
  publicUrl: string;
  listenPort: number;
  redisUrl: string;
  prefix: string;
  issuer: string;
  keyStore?: object;
}) {
  const { publicUrl } = options;
  return {
    app: { baseUrl: publicUrl },
    backend: {
      baseUrl: publicUrl,
      listen: { port: options.listenPort },
      cors: { origin: publicUrl, credentials: true },
    },
    auth: {
      ...(options.keyStore && { keyStore: options.keyStore }),
      session: {
        minAccessTokenValidity: 0,
        store: 'redis',
        redis: { url: options.redisUrl, prefix: options.prefix },
      },
      providers: {
        'keycloak-oidc': { development: { metadataUrl: options.issuer } },
      },
    },
  };
}
