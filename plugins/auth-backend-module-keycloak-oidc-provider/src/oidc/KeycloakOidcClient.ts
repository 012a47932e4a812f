import { AuthenticationError, isError } from '@backstage/errors';
import * as oidc from 'openid-client';
import { KeycloakUnavailableError } from '../errors';
import type { KeycloakProviderOptions } from '../config/readProviderOptions';
import type { LoginTransaction } from '../session/types';

/** Keycloak's verdict that a refresh token (and so the session) is dead. */
export class KeycloakInvalidGrantError extends Error {
  readonly description: string;
  constructor(description: string) {
    super(
      `Keycloak rejected the refresh token: invalid_grant (${description})`,
    );
    this.name = 'KeycloakInvalidGrantError';
    this.description = description;
  }
}

export type TokenResponse = oidc.TokenEndpointResponse &
  oidc.TokenEndpointResponseHelpers;

/**
 * A one-line reason for an openid-client failure, following the cause chain
 * (fetch failures hide ECONNREFUSED two levels down). Carries status codes
 * and OAuth error codes, never request contents.
 */
function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    if (current instanceof oidc.ResponseBodyError) {
      const detail = current.error_description
        ? ` (${current.error_description})`
        : '';
      parts.push(`${current.error}${detail}, HTTP ${current.status}`);
      break;
    }
    if (current instanceof Response) {
      parts.push(`HTTP ${current.status}`);
      break;
    }
    // duck-typed: fetch's errors may come from another realm
    if (!isError(current)) {
      parts.push(String(current));
      break;
    }
    const code = (current as { code?: unknown }).code;
    parts.push(code ? `${current.message} (${code})` : current.message);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}

/**
 * Whether a failed request never got a verdict from Keycloak: no answer
 * (connection refused or reset, DNS, timeout) or a 5xx. An OAuth error
 * answer below 500 (`invalid_grant` for a spent code) and a failed check of
 * the answer (nonce, ID token) are verdicts on the login, not outages.
 */
function isKeycloakUnreachable(error: unknown, depth = 0): boolean {
  if (error instanceof oidc.ResponseBodyError) {
    return error.status >= 500;
  }
  if (error instanceof Response) {
    return error.status >= 500;
  }
  if (!isError(error) || depth > 3) {
    return false;
  }
  // undici's network failure; duck-typed, it may come from another realm
  if (
    (error.name === 'TypeError' && error.message === 'fetch failed') ||
    error.name === 'AbortError' ||
    error.name === 'TimeoutError'
  ) {
    return true;
  }
  // openid-client wraps what it did not expect ("something went wrong")
  return isKeycloakUnreachable((error as { cause?: unknown }).cause, depth + 1);
}

/** How long Keycloak answering `/start`'s check is trusted */
const REACHABLE_FOR_MS = 2_000;

/**
 * The discovery document's URL for a configured `metadataUrl`, which may be
 * the issuer or the document itself, as openid-client's `discovery` takes
 * either.
 */
function discoveryUrlOf(metadataUrl: string): URL {
  const url = new URL(metadataUrl);
  if (!url.pathname.includes('/.well-known/')) {
    url.pathname = `${url.pathname.replace(/\/$/, '')}/.well-known/openid-configuration`;
  }
  return url;
}

/**
 * How long a refresh grant may take before we abort it. Longer than the
 * configured `timeout` on purpose: once Keycloak has answered a refresh
 * grant with rotation on, the token we sent is spent, so an answer that
 * comes after the browser stopped waiting must still be received and kept
 * (see SessionRefresher).
 */
export function refreshGrantTimeoutMs(options: { timeoutMs: number }): number {
  return Math.max(60_000, 3 * options.timeoutMs);
}

/**
 * openid-client gives every request of a configuration the same timeout;
 * its `customFetch` seam is the only per-request hook, so refresh grants
 * get their longer one here.
 */
function keepRefreshGrantsAlive(timeoutMs: number): oidc.CustomFetch {
  return (url, options) => {
    const body = options.body;
    const isRefreshGrant =
      body instanceof URLSearchParams &&
      body.get('grant_type') === 'refresh_token';
    return fetch(
      url,
      isRefreshGrant
        ? { ...options, signal: AbortSignal.timeout(timeoutMs) }
        : options,
    );
  };
}

/**
 * The OIDC conversation with one Keycloak realm, on openid-client. Discovery
 * is lazy and retried after a failure, so the backend starts while Keycloak
 * is down. Every failure that is not a verdict on the user's session becomes
 * a KeycloakUnavailableError naming what failed.
 */
export class KeycloakOidcClient {
  readonly #options: KeycloakProviderOptions;
  #configuration?: Promise<oidc.Configuration>;
  #reachability?: Promise<void>;
  #reachableUntil = 0;

  constructor(options: KeycloakProviderOptions) {
    this.#options = options;
  }

  configuration(): Promise<oidc.Configuration> {
    if (!this.#configuration) {
      const { metadataUrl } = this.#options;
      this.#configuration = this.#discover().catch(error => {
        this.#configuration = undefined;
        throw new KeycloakUnavailableError(
          `Keycloak discovery at ${metadataUrl} failed: ${describe(error)}`,
        );
      });
    }
    return this.#configuration;
  }

  /**
   * The realm's issuer and `jwks_uri` from discovery: what back-channel
   * logout tokens are checked against.
   */
  async serverMetadata(): Promise<{ issuer: string; jwksUri: string }> {
    const metadata = (await this.configuration()).serverMetadata();
    if (!metadata.jwks_uri) {
      throw new KeycloakUnavailableError(
        `Keycloak discovery at ${this.#options.metadataUrl} advertises no jwks_uri`,
      );
    }
    return { issuer: metadata.issuer, jwksUri: metadata.jwks_uri };
  }

  async #discover(): Promise<oidc.Configuration> {
    const o = this.#options;
    const server = new URL(o.metadataUrl);
    const auth =
      o.tokenEndpointAuthMethod === 'client_secret_post'
        ? oidc.ClientSecretPost(o.clientSecret)
        : oidc.ClientSecretBasic(o.clientSecret);
    const metadata: Partial<oidc.ClientMetadata> = {
      client_secret: o.clientSecret,
      redirect_uris: [o.callbackUrl],
      response_types: ['code'],
      ...(o.tokenSignedResponseAlg && {
        id_token_signed_response_alg: o.tokenSignedResponseAlg,
      }),
    };
    const config = await oidc.discovery(server, o.clientId, metadata, auth, {
      timeout: Math.ceil(o.timeoutMs / 1000),
      // Plain http is only ever used against a local development IdP.
      execute: server.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
    });
    config[oidc.customFetch] = keepRefreshGrantsAlive(refreshGrantTimeoutMs(o));
    return config;
  }

  /**
   * Throws a KeycloakUnavailableError unless Keycloak answers its discovery
   * document (any status below 500). Asked at `/start`: the authorization
   * URL is built from cached metadata, so without this a Keycloak outage
   * reaches the user as the browser's own "This site can't be reached" in
   * the sign-in popup instead of the module's outage page. Unauthenticated
   * clients can call `/start` at will, so concurrent checks share one GET
   * and an answer is trusted for REACHABLE_FOR_MS.
   */
  assertReachable(): Promise<void> {
    if (Date.now() < this.#reachableUntil) {
      return Promise.resolve();
    }
    this.#reachability ??= this.#checkReachable().finally(() => {
      this.#reachability = undefined;
    });
    return this.#reachability;
  }

  async #checkReachable(): Promise<void> {
    const { metadataUrl, timeoutMs } = this.#options;
    let status: number;
    try {
      const res = await fetch(discoveryUrlOf(metadataUrl), {
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      await res.body?.cancel();
    } catch (error) {
      throw new KeycloakUnavailableError(
        `Keycloak at ${metadataUrl} cannot be reached to start a sign-in: ${describe(error)}`,
      );
    }
    if (status >= 500) {
      throw new KeycloakUnavailableError(
        `Keycloak at ${metadataUrl} cannot be reached to start a sign-in: HTTP ${status}`,
      );
    }
    this.#reachableUntil = Date.now() + REACHABLE_FOR_MS;
  }

  async authorizationUrl(params: {
    state: string;
    scope: string;
    transaction: LoginTransaction;
  }): Promise<string> {
    const config = await this.configuration();
    const codeChallenge = await oidc.calculatePKCECodeChallenge(
      params.transaction.codeVerifier,
    );
    const query: Record<string, string> = {
      redirect_uri: this.#options.callbackUrl,
      response_type: 'code',
      scope: params.scope,
      state: params.state,
      nonce: params.transaction.nonce,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    };
    if (this.#options.prompt) {
      query.prompt = this.#options.prompt;
    }
    return oidc.buildAuthorizationUrl(config, query).href;
  }

  /** Exchanges the authorization code; validates state, nonce, PKCE and the ID token. */
  async exchangeCode(params: {
    callbackQuery: string;
    state: string;
    transaction: LoginTransaction;
  }): Promise<TokenResponse> {
    const config = await this.configuration();
    // The callback as Keycloak addressed it, whatever host the request
    // reached us on (load balancers, replicas): redirect_uri must match.
    const currentUrl = new URL(this.#options.callbackUrl);
    currentUrl.search = params.callbackQuery;
    try {
      return await oidc.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: params.transaction.codeVerifier,
        expectedNonce: params.transaction.nonce,
        expectedState: params.state,
        idTokenExpected: true,
      });
    } catch (error) {
      if (isKeycloakUnreachable(error)) {
        throw new KeycloakUnavailableError(
          `Keycloak token endpoint failed during login: ${describe(error)}`,
        );
      }
      throw error;
    }
  }

  /**
   * The userinfo claims for a login's access token, checked to be about
   * `expectedSubject` (the ID token's `sub`); undefined when the realm
   * advertises no userinfo endpoint.
   */
  async userInfo(
    accessToken: string,
    expectedSubject: string,
  ): Promise<oidc.UserInfoResponse | undefined> {
    const config = await this.configuration();
    if (!config.serverMetadata().userinfo_endpoint) {
      return undefined;
    }
    try {
      return await oidc.fetchUserInfo(config, accessToken, expectedSubject);
    } catch (error) {
      if (
        (error as { code?: unknown }).code ===
        'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED'
      ) {
        throw new AuthenticationError(
          'Keycloak userinfo answered for a different subject than the ID token; login refused',
        );
      }
      throw new KeycloakUnavailableError(
        `Keycloak userinfo endpoint failed during login: ${describe(error)}`,
      );
    }
  }

  /**
   * Runs the refresh grant. Throws KeycloakInvalidGrantError when Keycloak
   * says the session is dead, KeycloakUnavailableError for anything else.
   */
  async refresh(refreshToken: string): Promise<TokenResponse> {
    const config = await this.configuration();
    try {
      return await oidc.refreshTokenGrant(config, refreshToken);
    } catch (error) {
      if (
        error instanceof oidc.ResponseBodyError &&
        error.error === 'invalid_grant'
      ) {
        throw new KeycloakInvalidGrantError(
          (error.error_description ?? 'no description').slice(0, 200),
        );
      }
      throw new KeycloakUnavailableError(
        `Keycloak token endpoint failed during refresh: ${describe(error)}`,
      );
    }
  }

  /** Best effort; resolves to a reason when revocation did not happen. */
  async revokeRefreshToken(refreshToken: string): Promise<string | undefined> {
    try {
      const config = await this.configuration();
      if (!config.serverMetadata().revocation_endpoint) {
        return 'Keycloak advertises no revocation endpoint';
      }
      await oidc.tokenRevocation(config, refreshToken, {
        token_type_hint: 'refresh_token',
      });
      return undefined;
    } catch (error) {
      return describe(error);
    }
  }

  async endSessionUrl(params: {
    idToken?: string;
    postLogoutRedirectUrl: string;
  }): Promise<string | undefined> {
    const config = await this.configuration();
    if (!config.serverMetadata().end_session_endpoint) {
      return undefined;
    }
    const query: Record<string, string> = {
      client_id: this.#options.clientId,
      post_logout_redirect_uri: params.postLogoutRedirectUrl,
    };
    if (params.idToken) {
      query.id_token_hint = params.idToken;
    }
    return oidc.buildEndSessionUrl(config, query).href;
  }
}
