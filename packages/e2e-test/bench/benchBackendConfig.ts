/**
 * An example backend process for the benchmarks: the keycloak-oidc
 * provider against `issuer` with the given `auth.session`, and with
 * `upstream` Backstage's own oidc provider against the same IdP as the
 * baseline. The catalog reads its users once: no re-processing
 * mid-measurement.
 */
export function benchBackendConfig(options: {
  issuer: string;
  session: object;
  upstream: boolean;
}) {
  return (listenPort: number) => ({
    backend: {
      baseUrl: `http://localhost:${listenPort}`,
      listen: { port: listenPort },
    },
    catalog: { processingInterval: { minutes: 60 } },
    auth: {
      session: { secret: 'bench-express-session-secret', ...options.session },
      providers: {
        // app-config.yaml's resolvers: by keycloak.org/id, else by
        // preferred_username (real Keycloak's ids are not in examples/org.yaml)
        'keycloak-oidc': { development: { metadataUrl: options.issuer } },
        ...(options.upstream && {
          oidc: {
            development: {
              metadataUrl: options.issuer,
              clientId: 'backstage',
              clientSecret: 'backstage-dev-secret',
              prompt: 'auto',
              signIn: {
                resolvers: [
                  { resolver: 'emailMatchingUserEntityProfileEmail' },
                ],
              },
            },
          },
        }),
      },
    },
  });
}
