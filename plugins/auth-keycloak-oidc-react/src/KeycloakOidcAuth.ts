import { OAuth2 } from '@backstage/core-app-api';
import type {
  AuthRequestOptions,
  BackstageIdentityResponse,
  ProfileInfo,
  SessionApi,
} from '@backstage/frontend-plugin-api';
import type { KeycloakOidcAuthConnector } from './connector/KeycloakOidcAuthConnector';
import type { KeycloakOidcAuthApi } from './keycloakOidcAuthApiRef';
import type { SessionAvailability } from './sessionAvailability/SessionAvailability';

/**
 * Backstage's OAuth2 on the keycloak-oidc connector, plus the connector's
 * view of the session's availability. OAuth2's constructor is private, so
 * this delegates rather than extends.
 */
export class KeycloakOidcAuth implements KeycloakOidcAuthApi {
  readonly #oauth2: OAuth2;

  constructor(
    private readonly connector: KeycloakOidcAuthConnector,
    defaultScopes: string[],
  ) {
    this.#oauth2 = OAuth2.create({ authConnector: connector, defaultScopes });
  }

  signIn(): Promise<void> {
    return this.#oauth2.signIn();
  }

  signOut(): Promise<void> {
    return this.#oauth2.signOut();
  }

  sessionState$(): ReturnType<SessionApi['sessionState$']> {
    return this.#oauth2.sessionState$();
  }

  getAccessToken(
    scope?: string | string[],
    options?: AuthRequestOptions,
  ): Promise<string> {
    return this.#oauth2.getAccessToken(scope, options);
  }

  getIdToken(options?: AuthRequestOptions): Promise<string> {
    return this.#oauth2.getIdToken(options);
  }

  getBackstageIdentity(
    options?: AuthRequestOptions,
  ): Promise<BackstageIdentityResponse | undefined> {
    return this.#oauth2.getBackstageIdentity(options);
  }

  getProfile(options?: AuthRequestOptions): Promise<ProfileInfo | undefined> {
    return this.#oauth2.getProfile(options);
  }

  getSessionAvailability(): SessionAvailability {
    return this.connector.availability.get();
  }

  subscribeToSessionAvailability(listener: () => void): () => void {
    return this.connector.availability.subscribe(listener);
  }

  retrySessionNow(): void {
    this.connector.availability.retryNow();
  }
}
