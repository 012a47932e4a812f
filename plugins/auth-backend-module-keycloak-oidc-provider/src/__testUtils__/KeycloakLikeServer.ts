import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { randomNonce, randomPKCECodeVerifier } from 'openid-client';
import type { KeycloakProviderOptions } from '../config/readProviderOptions';
import {
  KeycloakOidcClient,
  type TokenResponse,
} from '../oidc/KeycloakOidcClient';
import { freePort } from '@redis-session/test-support';

/** Writes one HTTP answer. One that never calls `res.end` never answers. */
export type Respond = (res: ServerResponse) => void;

export const json =
  (status: number, body: object): Respond =>
  res => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

export type Endpoint =
  'discovery' | 'auth' | 'token' | 'userinfo' | 'revoke' | 'certs' | 'other';

/** One request the server received: query (GET) or form body (POST). */
export interface RecordedCall {
  endpoint: Endpoint;
  params: URLSearchParams;
  authorization?: string;
}

/** Who is signed in at Keycloak when the browser reaches its login page. */
export interface KeycloakLikeUser {
  sub: string;
  /** claims the realm puts in the ID token besides the protocol ones */
  idToken?: Record<string, unknown>;
  /** claims userinfo answers besides `sub` */
  userinfo?: Record<string, unknown>;
}

const PATHS: Record<string, Endpoint> = {
  '/.well-known/openid-configuration': 'discovery',
  '/protocol/openid-connect/auth': 'auth',
  '/protocol/openid-connect/token': 'token',
  '/protocol/openid-connect/userinfo': 'userinfo',
  '/protocol/openid-connect/revoke': 'revoke',
  '/protocol/openid-connect/certs': 'certs',
};

export const CLIENT_ID = 'backstage';
export const CLIENT_SECRET = 'secret';
export const CALLBACK_URL =
  'http://localhost:7007/api/auth/keycloak-oidc/handler/frame';

const ACCESS_TOKEN_SECONDS = 300;
const BASIC_AUTH = `Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`;

const invalidGrant = (description: string) =>
  json(400, { error: 'invalid_grant', error_description: description });
const sha256 = (value: string) => createHash('sha256').update(value).digest();
const randomToken = (prefix: string) =>
  `${prefix}-${randomBytes(16).toString('hex')}`;

/**
 * A local node:http server answering like a Keycloak realm `test` with one
 * confidential client: discovery, JWKS, the authorization endpoint (the user
 * in `user` is already signed in, so it redirects straight back with a code),
 * the token endpoint (code grant with PKCE S256 and refresh grant with
 * rotation, RS256 ID tokens with iss/aud/azp/nonce/sub/sid), userinfo,
 * revocation and an end-session endpoint. Every request is recorded in
 * `calls`; `intercept` lets a test answer (or delay, or race) any of them.
 */
export class KeycloakLikeServer {
  readonly calls: RecordedCall[] = [];
  /**
   * Return a Respond to answer the call yourself, or undefined to let the
   * server answer; may be async (delay a call, act while it is in flight).
   */
  intercept?: (
    call: RecordedCall,
  ) => Respond | undefined | Promise<Respond | undefined>;
  user: KeycloakLikeUser = {
    sub: 'f1a2b3c4-0000-4000-8000-000000000001',
    idToken: { preferred_username: 'alice', email: 'alice@example.com' },
  };
  /**
   * false: every answer closes its connection, so once the server is
   * closed the next call is refused (ECONNREFUSED) instead of failing on a
   * pooled keep-alive socket.
   */
  keepAlive = true;

  /** pending authorization codes: the Keycloak session and the request */
  readonly #codes = new Map<string, { sid: string; query: URLSearchParams }>();
  /** Keycloak sessions by sid */
  readonly #sessions = new Map<
    string,
    { user: KeycloakLikeUser; active: boolean }
  >();
  /** every refresh token issued, and whether it is still the current one */
  readonly #refreshTokens = new Map<
    string,
    { sid: string; scope: string; state: 'live' | 'rotated' | 'revoked' }
  >();
  readonly #accessTokens = new Map<string, string>();

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
    private readonly key: { privateKey: CryptoKey; jwk: object },
  ) {}

  static async start(): Promise<KeycloakLikeServer> {
    const port = await freePort();
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
    const server = createServer();
    const keycloak = new KeycloakLikeServer(
      server,
      `http://127.0.0.1:${port}/realms/test`,
      { privateKey, jwk },
    );
    server.on('request', (req, res) => {
      keycloak.#handle(req, res).catch(error => {
        res.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>(resolve =>
      server.listen(port, '127.0.0.1', resolve),
    );
    return keycloak;
  }

  /** How many calls reached `endpoint` (token calls: of that grant type). */
  count(endpoint: Endpoint, grantType?: string): number {
    return this.calls.filter(
      c =>
        c.endpoint === endpoint &&
        (!grantType || c.params.get('grant_type') === grantType),
    ).length;
  }

  /** The provider's config block for this realm. */
  providerConfig(extra: Record<string, unknown> = {}) {
    return {
      metadataUrl: this.issuer,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      ...extra,
    };
  }

  client(options: Partial<KeycloakProviderOptions> = {}): KeycloakOidcClient {
    return new KeycloakOidcClient({
      metadataUrl: this.issuer,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      callbackUrl: CALLBACK_URL,
      tokenEndpointAuthMethod: 'client_secret_basic',
      timeoutMs: 1000,
      ...options,
    });
  }

  /**
   * Follows an authorization URL as a browser already signed in to Keycloak
   * would; returns the query Keycloak redirects back to the callback with.
   */
  async authorize(authorizationUrl: string): Promise<string> {
    const res = await fetch(authorizationUrl, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (res.status !== 302 || !location) {
      throw new Error(
        `authorization failed: ${res.status} ${await res.text()}`,
      );
    }
    return new URL(location).search;
  }

  /** A whole login through `client`: the Keycloak session's token set. */
  async signIn(client: KeycloakOidcClient): Promise<TokenResponse> {
    const state = randomUUID();
    const transaction = {
      codeVerifier: randomPKCECodeVerifier(),
      nonce: randomNonce(),
      browserBinding: '',
      createdAt: Date.now(),
    };
    const url = await client.authorizationUrl({
      state,
      scope: 'openid profile email',
      transaction,
    });
    const callbackQuery = await this.authorize(url);
    return client.exchangeCode({ callbackQuery, state, transaction });
  }

  /** Ends a Keycloak session (admin sign-out, SSO idle timeout, restart). */
  endSession(sid: string) {
    const session = this.#sessions.get(sid);
    if (session) session.active = false;
  }

  /** Refresh tokens revoked at the revocation endpoint. */
  revokedTokens(): string[] {
    return [...this.#refreshTokens]
      .filter(([, t]) => t.state === 'revoked')
      .map(([token]) => token);
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise(resolve => this.server.close(resolve));
  }

  async #handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', this.issuer);
    const path = url.pathname.replace(/^\/realms\/test/, '');
    let body = '';
    for await (const chunk of req) body += chunk;
    const call: RecordedCall = {
      endpoint: PATHS[path] ?? 'other',
      params:
        req.method === 'POST' ? new URLSearchParams(body) : url.searchParams,
      authorization: req.headers.authorization,
    };
    this.calls.push(call);
    if (!this.keepAlive) res.setHeader('connection', 'close');
    const respond =
      (await this.intercept?.(call)) ?? (await this.#answer(call));
    respond(res);
  }

  async #answer({ endpoint, params, authorization }: RecordedCall) {
    const base = `${this.issuer}/protocol/openid-connect`;
    switch (endpoint) {
      case 'discovery':
        return json(200, {
          issuer: this.issuer,
          authorization_endpoint: `${base}/auth`,
          token_endpoint: `${base}/token`,
          userinfo_endpoint: `${base}/userinfo`,
          revocation_endpoint: `${base}/revoke`,
          end_session_endpoint: `${base}/logout`,
          jwks_uri: `${base}/certs`,
          code_challenge_methods_supported: ['plain', 'S256'],
          authorization_response_iss_parameter_supported: true,
        });
      case 'certs':
        return json(200, { keys: [this.key.jwk] });
      case 'auth':
        return this.#authorize(params);
      case 'token':
        if (!this.#clientAuthenticated(params, authorization)) {
          return json(401, { error: 'invalid_client' });
        }
        return params.get('grant_type') === 'refresh_token'
          ? this.#refreshGrant(params)
          : this.#codeGrant(params);
      case 'userinfo': {
        const sid = this.#accessTokens.get(
          authorization?.replace(/^Bearer /, '') ?? '',
        );
        const user = sid ? this.#sessions.get(sid)?.user : undefined;
        return user
          ? json(200, { ...user.userinfo, sub: user.sub })
          : json(401, { error: 'invalid_token' });
      }
      case 'revoke': {
        if (!this.#clientAuthenticated(params, authorization)) {
          return json(401, { error: 'invalid_client' });
        }
        const token = this.#refreshTokens.get(params.get('token') ?? '');
        if (token) token.state = 'revoked';
        return json(200, {});
      }
      default:
        return json(404, { error: 'not_found' });
    }
  }

  #authorize(query: URLSearchParams): Respond {
    if (
      query.get('client_id') !== CLIENT_ID ||
      query.get('response_type') !== 'code' ||
      query.get('code_challenge_method') !== 'S256' ||
      !query.get('code_challenge') ||
      !query.get('nonce')
    ) {
      return json(400, { error: 'invalid_request', query: query.toString() });
    }
    const code = randomToken('code');
    const sid = randomUUID();
    this.#sessions.set(sid, { user: this.user, active: true });
    this.#codes.set(code, { sid, query });
    const location = new URL(query.get('redirect_uri')!);
    location.search = new URLSearchParams({
      state: query.get('state') ?? '',
      session_state: sid,
      iss: this.issuer,
      code,
    }).toString();
    return res => res.writeHead(302, { location: location.href }).end();
  }

  async #codeGrant(params: URLSearchParams): Promise<Respond> {
    const code = this.#codes.get(params.get('code') ?? '');
    this.#codes.delete(params.get('code') ?? ''); // single use
    if (!code) return invalidGrant('Code not valid');
    if (params.get('redirect_uri') !== code.query.get('redirect_uri')) {
      return invalidGrant('Incorrect redirect_uri');
    }
    const verifier = params.get('code_verifier') ?? '';
    if (
      sha256(verifier).toString('base64url') !==
      code.query.get('code_challenge')
    ) {
      return invalidGrant('PKCE verification failed: Code mismatch');
    }
    return this.#tokens(code.sid, code.query.get('scope') ?? '', {
      nonce: code.query.get('nonce'),
    });
  }

  async #refreshGrant(params: URLSearchParams): Promise<Respond> {
    const token = this.#refreshTokens.get(params.get('refresh_token') ?? '');
    if (!token || token.state === 'revoked') {
      return invalidGrant('Invalid refresh token');
    }
    if (!this.#sessions.get(token.sid)?.active) {
      return invalidGrant('Session not active');
    }
    if (token.state === 'rotated') {
      // Keycloak with "Revoke Refresh Token" and a reuse count of 0
      return invalidGrant('Maximum allowed refresh token reuse exceeded');
    }
    token.state = 'rotated';
    return this.#tokens(token.sid, token.scope, {});
  }

  async #tokens(sid: string, scope: string, extra: Record<string, unknown>) {
    const { user } = this.#sessions.get(sid)!;
    const accessToken = randomToken('at');
    const refreshToken = randomToken('rt');
    this.#accessTokens.set(accessToken, sid);
    this.#refreshTokens.set(refreshToken, { sid, scope, state: 'live' });
    const idToken = await new SignJWT({
      ...user.idToken,
      ...extra,
      typ: 'ID',
      azp: CLIENT_ID,
      sid,
      at_hash: sha256(accessToken).subarray(0, 16).toString('base64url'),
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(CLIENT_ID)
      .setSubject(user.sub)
      .setIssuedAt()
      .setExpirationTime(`${ACCESS_TOKEN_SECONDS}s`)
      .sign(this.key.privateKey);
    return json(200, {
      access_token: accessToken,
      expires_in: ACCESS_TOKEN_SECONDS,
      refresh_expires_in: 1800,
      refresh_token: refreshToken,
      token_type: 'Bearer',
      id_token: idToken,
      'not-before-policy': 0,
      session_state: sid,
      scope,
    });
  }

  /** client_secret_basic, or client_secret_post */
  #clientAuthenticated(params: URLSearchParams, authorization?: string) {
    return (
      authorization === BASIC_AUTH ||
      (params.get('client_id') === CLIENT_ID &&
        params.get('client_secret') === CLIENT_SECRET)
    );
  }
}
