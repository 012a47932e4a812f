import {
  createServiceFactory,
  coreServices,
} from '@backstage/backend-plugin-api';
import type { Entity } from '@backstage/catalog-model';
import type { JsonObject } from '@backstage/types';
import { authServiceFactory } from '@backstage/backend-defaults/auth';
import { httpAuthServiceFactory } from '@backstage/backend-defaults/httpAuth';
import { userInfoServiceFactory } from '@backstage/backend-defaults/userInfo';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import authPlugin from '@backstage/plugin-auth-backend';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { authModuleKeycloakOidcProvider } from '../module';
import { CapturingLogger } from './CapturingLogger';
import { catalogUsers, type DevUserName } from './users';

export interface KeycloakTestBackendOptions {
  issuer: string;
  /** A redis:// URL, or undefined for the memory store */
  redisUrl?: string;
  /** The public callback URL, when replicas sit behind one address */
  callbackUrl?: string;
  users?: DevUserName[];
  /** The catalog's entities instead of the dev IdP's `users` */
  entities?: Entity[];
  /** Merged over the generated `keycloak-oidc.development` block */
  provider?: JsonObject;
  /** A `signIn.resolvers` entry; default keycloakIdMatchingUserEntityAnnotation */
  resolver?: JsonObject;
  /** Merged over the generated config */
  session?: JsonObject;
  /** `backend` config, e.g. `auth.externalAccess` for service tokens */
  backendConfig?: JsonObject;
  /**
   * Backstage's real auth, httpAuth and userInfo services instead of the
   * test mocks, so requests carry real user and service tokens.
   */
  realAuth?: boolean;
}

/**
 * A real Backstage backend (auth plugin + our module + a catalog holding
 * the dev IdP's users) listening on a random port.
 */
export async function startKeycloakTestBackend(
  options: KeycloakTestBackendOptions,
) {
  const logger = new CapturingLogger();
  // Tests call Keycloak on every refresh unless they test the fast path.
  const session: JsonObject = {
    minAccessTokenValidity: 0,
    ...(options.session ??
      (options.redisUrl
        ? {
            store: 'redis',
            redis: { url: options.redisUrl, prefix: 'test:session:' },
          }
        : { store: 'memory' })),
  };
  const backend = await startTestBackend({
    features: [
      authPlugin,
      authModuleKeycloakOidcProvider,
      catalogServiceMock.factory({
        entities: options.entities ?? catalogUsers(options.users),
      }),
      ...(options.realAuth
        ? [authServiceFactory, httpAuthServiceFactory, userInfoServiceFactory]
        : []),
      createServiceFactory({
        service: coreServices.rootLogger,
        deps: {},
        factory: () => logger,
      }),
      mockServices.rootConfig.factory({
        data: {
          app: { baseUrl: 'http://localhost:3000' },
          ...(options.backendConfig && { backend: options.backendConfig }),
          auth: {
            environment: 'development',
            session,
            providers: {
              'keycloak-oidc': {
                development: {
                  metadataUrl: options.issuer,
                  clientId: 'backstage',
                  clientSecret: 'backstage-dev-secret',
                  ...(options.callbackUrl && {
                    callbackUrl: options.callbackUrl,
                  }),
                  ...options.provider,
                  signIn: {
                    resolvers: [
                      options.resolver ?? {
                        resolver: 'keycloakIdMatchingUserEntityAnnotation',
                      },
                    ],
                  },
                },
              },
            },
          },
        },
      }),
    ],
  });
  const url = `http://localhost:${backend.server.port()}`;
  return {
    backend,
    url,
    logger,
    authUrl: `${url}/api/auth/keycloak-oidc`,
    stop: () => backend.stop(),
  };
}

export type KeycloakTestBackend = Awaited<
  ReturnType<typeof startKeycloakTestBackend>
>;
