import { createHash } from 'node:crypto';
import { ConfigReader } from '@backstage/config';
import { InputError, NotAllowedError } from '@backstage/errors';
import {
  encodeOAuthState,
  type AuthResolverContext,
  type SignInResolver,
} from '@backstage/plugin-auth-node';
import express, { type Request } from 'express';
import request from 'supertest';
import { CapturingLogger } from '@redis-session/test-support';
import {
  CALLBACK_URL,
  CLIENT_ID,
  CLIENT_SECRET,
  KeycloakLikeServer,
} from './__testUtils__/KeycloakLikeServer';
import {
  createKeycloakAuthenticator,
  type KeycloakAuthenticatorDeps,
} from './authenticator';
import type {
  KeycloakAuthResult,
  KeycloakEnvironment,
  SessionAuthResult,
} from './authResult';
import { SessionEndedError, SessionStoreUnavailableError } from './errors';
import { memorySessionStorage } from './session/memory/memorySessionStorage';
import { newHandle, sampleRecord } from './__testUtils__/sessionStoreContract';

const APP_URL = 'http://localhost:3000';
const SCOPE = 'openid profile email';
const ROUTES = '/api/auth/keycloak-oidc';

/**
 * Runs `fn` inside a real Express request (as Backstage's route handlers
 * call the authenticator, `req.res` included) and returns what it returned
 * or threw, with the HTTP response it left behind (its cookies).
 */
async function duringRequest<T>(
  url: string,
  fn: (req: Request) => Promise<T>,
  headers: Record<string, string> = {},
) {
  let outcome: { value?: T; error?: any } = {};
  const app = express();
  app.use(async (req, res) => {
    // as Backstage's cookie parser would
    req.cookies = Object.fromEntries(
      (req.get('cookie') ?? '')
        .split('; ')
        .filter(Boolean)
        .map(pair => pair.split('=') as [string, string]),
    );
    try {
      outcome = { value: await fn(req) };
    } catch (error) {
      outcome = { error };
    }
    res.end();
  });
  const response = await request(app)
    .get(url)
    .set({ 'user-agent': 'test-browser/1.0', ...headers });
  return { ...outcome, response };
}

let keycloak: KeycloakLikeServer;

beforeAll(async () => {
  keycloak = await KeycloakLikeServer.start();
});

afterAll(() => keycloak.close());

/** An authenticator on a memory store, initialized like the provider factory does. */
function setup(
  providerConfig: Record<string, unknown> = {},
  storage = memorySessionStorage(),
  deps: Pick<KeycloakAuthenticatorDeps, 'signIn'> & {
    session?: Partial<KeycloakAuthenticatorDeps['session']>;
  } = {},
) {
  const environments: KeycloakEnvironment[] = [];
  const logger = new CapturingLogger();
  const authenticator = createKeycloakAuthenticator({
    store: storage.sessions,
    logger,
    session: {
      ttlSeconds: 3600,
      loginTtlSeconds: 600,
      minAccessTokenValiditySeconds: 240,
      keycloakCheckIntervalSeconds: 60,
      identityCacheSeconds: 60,
      maxSessionsPerUser: 0,
      maxPendingLogins: 100,
      dangerouslyAllowInsecureProduction: false,
      ...deps.session,
    },
    signIn: deps.signIn,
    provider: {
      providerId: 'keycloak-oidc',
      baseUrl: 'http://localhost:7007/api/auth',
      appUrl: APP_URL,
    },
    onEnvironment: environment => environments.push(environment),
  });
  const initialize = (extra = providerConfig) =>
    authenticator.initialize({
      callbackUrl: CALLBACK_URL,
      config: new ConfigReader(keycloak.providerConfig(extra)),
    });
  const env = initialize();
  /** The login cookie the last /start set, as the browser would send it */
  let loginCookie = '';
  const start = async (state: string) => {
    const { value, response } = await duringRequest(`${ROUTES}/start`, req =>
      authenticator.start({ req, scope: SCOPE, state }, env),
    );
    loginCookie = String(response.headers['set-cookie']).split(';')[0];
    return value!;
  };
  const callback = (query: string, cookie = loginCookie) =>
    duringRequest(
      `${ROUTES}/handler/frame${query}`,
      async req => authenticator.authenticate({ req }, env),
      { cookie },
    );
  /**
   * start, Keycloak's login page, callback: the result of a whole login.
   * `refreshCookie` is what the browser still holds from an earlier sign-in.
   */
  async function login(refreshCookie?: string) {
    const state = encodeOAuthState({ nonce: 'n-1', env: 'development' });
    const query = await keycloak.authorize((await start(state)).url);
    const { value, error } = await callback(
      query,
      refreshCookie === undefined
        ? loginCookie
        : `${loginCookie}; keycloak-oidc-refresh-token=${refreshCookie}`,
    );
    if (error) throw error;
    const result = value as SessionAuthResult;
    // what the sign-in resolver step runs once it accepted the login
    await result.sessionSignIn.endReplacedSession?.();
    return { query, result };
  }
  return {
    logger,
    storage,
    store: storage.sessions,
    queries: storage.queries,
    authenticator,
    env,
    environments,
    initialize,
    start,
    callback,
    login,
  };
}

describe('initialize', () => {
  it('tells onEnvironment once per environment, with the options read from its config', () => {
    const { env, environments, initialize } = setup({
      timeout: 2500,
      prompt: 'login',
      sessionDuration: { hours: 12 },
    });
    expect(environments).toEqual([env]);
    expect(env.options).toEqual({
      metadataUrl: keycloak.issuer,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      callbackUrl: CALLBACK_URL,
      prompt: 'login',
      tokenEndpointAuthMethod: 'client_secret_basic',
      timeoutMs: 2500,
      sessionDurationMs: 12 * 3600_000,
    });

    const other = initialize({ tokenEndpointAuthMethod: 'client_secret_post' });
    expect(environments).toHaveLength(2);
    expect(environments[1]).toBe(other);
    expect(other.options.tokenEndpointAuthMethod).toBe('client_secret_post');
  });
});

describe('start', () => {
  it('stores a login transaction and sends the browser to Keycloak with PKCE S256 and the state', async () => {
    const { start, store, authenticator, env } = setup();
    const state = encodeOAuthState({ nonce: 'n-1', env: 'development' });
    const url = new URL((await start(state)).url);
    expect(`${url.origin}${url.pathname}`).toBe(
      `${keycloak.issuer}/protocol/openid-connect/auth`,
    );
    const transaction = await store.takeLoginTransaction(state);
    expect(transaction).toBeDefined();
    // the browser that started it gets the secret its binding is made of,
    // HttpOnly and only for the callback
    const { response } = await duringRequest(`${ROUTES}/start`, req =>
      authenticator.start({ req, scope: SCOPE, state: 'another' }, env),
    );
    const [cookie, ...attributes] = String(
      response.headers['set-cookie'],
    ).split('; ');
    const [name, secret] = cookie.split('=');
    expect(name).toBe('keycloak-oidc-login');
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(attributes).toEqual(
      expect.arrayContaining(['HttpOnly', `Path=${ROUTES}/handler`]),
    );
    expect((await store.takeLoginTransaction('another'))?.browserBinding).toBe(
      createHash('sha256').update(secret).digest('base64url'),
    );
    const challenge = createHash('sha256')
      .update(transaction!.codeVerifier)
      .digest('base64url');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: CLIENT_ID,
      redirect_uri: CALLBACK_URL,
      response_type: 'code',
      scope: SCOPE,
      state,
      nonce: transaction!.nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
  });
});

describe('authenticate', () => {
  it('takes the transaction once, exchanges the code and creates a session whose handle is the refresh token', async () => {
    const { login, callback, store, queries } = setup();
    const codeGrants = () => keycloak.count('token', 'authorization_code');
    const before = codeGrants();
    const { query, result } = await login();
    expect(codeGrants()).toBe(before + 1);
    expect(result.sessionSignIn).toMatchObject({ isNew: true });

    const handle = result.session.refreshToken!;
    const stored = await store.getSession(handle);
    expect(stored?.record.sub).toBe(keycloak.user.sub);
    // the browser gets the handle; Keycloak's tokens stay in the store
    expect(stored?.record.refreshToken).toMatch(/^rt-/);
    expect(handle).not.toContain(stored!.record.refreshToken);
    expect(result.session.accessToken).toBe(stored?.record.accessToken);
    const [summary] = await queries.listSessions({ sub: keycloak.user.sub });
    expect(summary.userAgent).toBe('test-browser/1.0');

    // the same callback again (replayed, or a double submit)
    const replay = await callback(query);
    expect(replay.error).toBeInstanceOf(InputError);
    expect(replay.error.message).toBe(
      'Unknown, expired or already used sign-in state; start the sign-in again',
    );
    expect(codeGrants()).toBe(before + 1);
  });

  it("refuses a callback with another browser's login cookie", async () => {
    const { start, callback } = setup();
    const state = encodeOAuthState({ nonce: 'n-2', env: 'development' });
    const query = await keycloak.authorize((await start(state)).url);
    const { error } = await callback(query, 'keycloak-oidc-login=forged');
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toBe(
      'The sign-in callback does not come from the browser that started it',
    );
  });

  it('takes profile claims from userinfo when the ID token has none', async () => {
    const alice = keycloak.user;
    keycloak.user = {
      sub: 'b0b00000-0000-4000-8000-000000000002',
      idToken: { preferred_username: 'bob' }, // "Add to ID token" off
      userinfo: { email: 'bob@example.com', name: 'Bob Builder' },
    };
    try {
      const { login, store } = setup();
      const userinfoCalls = keycloak.count('userinfo');
      const { result } = await login();
      expect(keycloak.count('userinfo')).toBe(userinfoCalls + 1);
      expect(result.fullProfile.claims).toMatchObject({
        sub: 'b0b00000-0000-4000-8000-000000000002',
        preferred_username: 'bob',
        email: 'bob@example.com',
        name: 'Bob Builder',
      });
      const stored = await store.getSession(result.session.refreshToken!);
      expect(stored?.record.profile).toEqual({
        preferred_username: 'bob',
        email: 'bob@example.com',
        name: 'Bob Builder',
      });
    } finally {
      keycloak.user = alice;
    }
  });
});

describe('signing in again in the same browser', () => {
  it('ends the session its refresh cookie named, keeps the new one, and does not revoke at Keycloak', async () => {
    const { login, store, queries, logger } = setup();
    const { result: first } = await login();
    const previous = first.session.refreshToken!;
    const revocations = keycloak.count('revoke');

    const { result: second } = await login(previous);
    const handle = second.session.refreshToken!;
    expect(handle).not.toBe(previous);
    expect(await store.getSession(previous)).toBeUndefined();
    expect((await store.getSession(handle))?.record.sub).toBe(
      keycloak.user.sub,
    );
    expect(await queries.listSessions({ sub: keycloak.user.sub })).toHaveLength(
      1,
    );
    // the new login rides the same Keycloak session
    expect(keycloak.count('revoke')).toBe(revocations);
    expect(logger.lines).toContainEqual({
      level: 'info',
      message: expect.stringContaining(`keycloak user ${keycloak.user.sub}`),
      meta: { keycloakSub: keycloak.user.sub },
    });
    expect(logger.dump()).not.toContain(previous);
    expect(logger.dump()).not.toContain(handle);
  });

  it.each([
    ['no refresh cookie', undefined],
    ['an empty refresh cookie', ''],
    ['a malformed refresh cookie', 'not-a-handle'],
    ['a refresh cookie naming no session', newHandle()],
  ])(
    'signs in with %s, leaving the other sessions alone',
    async (_, refreshCookie) => {
      const { login, store, queries, logger } = setup();
      const { result: other } = await login();
      const deletes = jest.spyOn(store, 'deleteSession');

      const { result } = await login(refreshCookie);
      expect(result.sessionSignIn).toMatchObject({ isNew: true });
      expect(
        await store.getSession(result.session.refreshToken!),
      ).toBeDefined();
      expect(await store.getSession(other.session.refreshToken!)).toBeDefined();
      expect(
        await queries.listSessions({ sub: keycloak.user.sub }),
      ).toHaveLength(2);
      expect(deletes).not.toHaveBeenCalled();
      expect(logger.lines.filter(l => l.level !== 'debug')).toEqual([]);
    },
  );

  it("ends another user's older session too: the browser's cookie is overwritten either way", async () => {
    const { login, store, env, logger } = setup();
    const previousUser = sampleRecord({
      ...env.binding,
      sub: 'b0b00000-0000-4000-8000-000000000002',
    });
    const { handle: previous } = await store.createSession(
      previousUser,
      60_000,
    );
    const { result } = await login(previous);
    expect(await store.getSession(previous)).toBeUndefined();
    expect(await store.getSession(result.session.refreshToken!)).toBeDefined();
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'info',
        meta: { keycloakSub: previousUser.sub },
      }),
    );
  });

  it("leaves alone another deployment's session (another client) the cookie names", async () => {
    const { login, store, env, logger } = setup();
    const { handle: theirs } = await store.createSession(
      sampleRecord({ ...env.binding, clientId: 'another-backstage' }),
      60_000,
    );
    const { result } = await login(theirs);
    expect(await store.getSession(theirs)).toBeDefined();
    expect(await store.getSession(result.session.refreshToken!)).toBeDefined();
    expect(logger.lines.filter(l => l.level !== 'debug')).toEqual([]);
  });

  it('still signs in when the old session cannot be deleted, and warns without the handle', async () => {
    const { login, store, logger } = setup();
    const { result: first } = await login();
    const previous = first.session.refreshToken!;
    // a store may quote its argument; the log line must not
    jest
      .spyOn(store, 'deleteSession')
      .mockRejectedValue(
        new SessionStoreUnavailableError(
          `Session store (Redis) unavailable while deleting the session ${previous}: Connection is closed`,
        ),
      );

    const { result } = await login(previous);
    const handle = result.session.refreshToken!;
    expect(result.sessionSignIn).toMatchObject({ isNew: true });
    expect(await store.getSession(handle)).toBeDefined();
    const warnings = logger.lines.filter(l => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toMatch(/Connection is closed/);
    expect(logger.dump()).not.toContain(previous);
    expect(logger.dump()).not.toContain(previous.split('.')[1]);
    expect(logger.dump()).not.toContain(handle);
  });
});

describe('refresh', () => {
  it.each([
    ['a malformed handle', 'not-a-handle', 'Session cookie is malformed'],
    ['an unknown handle', newHandle(), 'Session not found or expired'],
  ])(
    'ends the session for %s and clears the refresh cookie',
    async (_, refreshToken, message) => {
      const { authenticator, env } = setup();
      const { error, response } = await duringRequest(
        `${ROUTES}/refresh`,
        req => authenticator.refresh({ req, scope: SCOPE, refreshToken }, env),
      );
      expect(error).toBeInstanceOf(SessionEndedError);
      expect(error.message).toBe(`${message}; sign in again`);
      const cookies = response.headers['set-cookie'] as unknown as string[];
      expect(cookies).toHaveLength(1);
      // the attributes Backstage set it with, or the browser keeps it
      const [cookie, ...attributes] = cookies[0].split('; ');
      expect(cookie).toBe('keycloak-oidc-refresh-token=');
      expect(attributes.filter(a => !a.startsWith('Expires=')).sort()).toEqual(
        ['HttpOnly', 'Max-Age=0', `Path=${ROUTES}`, 'SameSite=Lax'].sort(),
      );
    },
  );

  it('clears the cookie of an ended session even when Origin is not a URL', async () => {
    const { authenticator, env } = setup();
    const { error, response } = await duringRequest(
      `${ROUTES}/refresh`,
      req =>
        authenticator.refresh(
          { req, scope: SCOPE, refreshToken: newHandle() },
          env,
        ),
      { origin: 'null' }, // what sandboxed frames and file: pages send
    );
    expect(error).toBeInstanceOf(SessionEndedError);
    expect(String(response.headers['set-cookie'])).toMatch(
      /^keycloak-oidc-refresh-token=;/,
    );
  });

  it('answers a live session from the store: same handle, not new, entity ref as stored', async () => {
    const { login, authenticator, env, store } = setup();
    const { result } = await login();
    const handle = result.session.refreshToken!;
    await store.setEntityRef(handle, 'user:default/alice');
    const refreshGrants = keycloak.count('token', 'refresh_token');
    const { value, error, response } = await duringRequest(
      `${ROUTES}/refresh`,
      req =>
        authenticator.refresh({ req, scope: SCOPE, refreshToken: handle }, env),
    );
    expect(error).toBeUndefined();
    const refreshed = value as SessionAuthResult;
    expect(refreshed.session.refreshToken).toBe(handle);
    expect(refreshed.sessionSignIn).toEqual({
      isNew: false,
      entityRef: 'user:default/alice',
    });
    expect(refreshed.fullProfile.claims.email).toBe('alice@example.com');
    // still fresh: no Keycloak call
    expect(keycloak.count('token', 'refresh_token')).toBe(refreshGrants);
    expect(response.headers['set-cookie']).toBeUndefined();
  });
});

describe('refresh: the Backstage identity', () => {
  const ALICE = 'user:default/alice';
  /** A resolver as the token issuer answers: the claims it was asked for */
  const resolverAs = (ent: string[]) => {
    const calls: string[] = [];
    const resolver: SignInResolver<KeycloakAuthResult> = async ({
      profile,
    }) => {
      calls.push(profile.email!);
      const payload = Buffer.from(JSON.stringify({ sub: ALICE, ent, iat: 1 }));
      return { token: `e30.${payload.toString('base64url')}.sig` };
    };
    return { resolver, calls };
  };

  it('a refresh that calls Keycloak resolves the user before storing the tokens, in the same write', async () => {
    const { resolver, calls } = resolverAs([ALICE, 'group:default/team-a']);
    const { login, authenticator, env, store } = setup({}, undefined, {
      session: { minAccessTokenValiditySeconds: 0 },
      signIn: { resolver, context: {} as AuthResolverContext },
    });
    const { result } = await login();
    const handle = result.session.refreshToken!;
    const refreshGrants = keycloak.count('token', 'refresh_token');
    const { value, error } = await duringRequest(`${ROUTES}/refresh`, req =>
      authenticator.refresh({ req, scope: SCOPE, refreshToken: handle }, env),
    );
    expect(error).toBeUndefined();
    expect(keycloak.count('token', 'refresh_token')).toBe(refreshGrants + 1);
    expect(calls).toEqual(['alice@example.com']);
    const { sessionSignIn } = value as SessionAuthResult;
    expect(sessionSignIn.signedIn?.token).toMatch(/^e30\./);
    const stored = await store.getSession(handle);
    expect(stored?.entityRef).toBe(ALICE);
    expect(stored?.identity).toEqual({
      claims: { sub: ALICE, ent: [ALICE, 'group:default/team-a'] },
      resolvedAt: expect.any(Number),
    });
  });

  it('a refresh from the store offers the stored identity only within identityCacheTtl', async () => {
    const { resolver } = resolverAs([ALICE]);
    const { login, authenticator, env, store } = setup({}, undefined, {
      session: { identityCacheSeconds: 60 },
      signIn: { resolver, context: {} as AuthResolverContext },
    });
    const { result } = await login();
    const handle = result.session.refreshToken!;
    const refresh = async () =>
      (
        (
          await duringRequest(`${ROUTES}/refresh`, req =>
            authenticator.refresh(
              { req, scope: SCOPE, refreshToken: handle },
              env,
            ),
          )
        ).value as SessionAuthResult
      ).sessionSignIn;
    const claims = { sub: ALICE, ent: [ALICE] };
    await store.setEntityRef(handle, ALICE, {
      claims,
      resolvedAt: Date.now() - 50_000,
    });
    expect(await refresh()).toEqual({
      isNew: false,
      entityRef: ALICE,
      identity: { claims, resolvedAt: expect.any(Number) },
    });
    await store.setEntityRef(handle, ALICE, {
      claims,
      resolvedAt: Date.now() - 70_000,
    });
    expect(await refresh()).toEqual({ isNew: false, entityRef: ALICE });
  });
});

describe('logout', () => {
  it('deletes the session, revokes its refresh token and returns the end-session URL', async () => {
    const { login, authenticator, env, store } = setup();
    const { result } = await login();
    const handle = result.session.refreshToken!;
    const { record } = (await store.getSession(handle))!;
    const { value } = await duringRequest(`${ROUTES}/logout`, req =>
      authenticator.logout!({ req, refreshToken: handle }, env),
    );
    expect(await store.getSession(handle)).toBeUndefined();
    expect(keycloak.revokedTokens()).toContain(record.refreshToken);
    const url = new URL((value as { logoutUrl: string }).logoutUrl);
    expect(`${url.origin}${url.pathname}`).toBe(
      `${keycloak.issuer}/protocol/openid-connect/logout`,
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: CLIENT_ID,
      id_token_hint: record.idToken,
      post_logout_redirect_uri: APP_URL,
    });
  });

  it('without a session: no revocation, no id_token_hint, the configured redirect', async () => {
    const { authenticator, env } = setup({
      postLogoutRedirectUrl: 'https://app.example.com/signed-out',
    });
    const revocations = keycloak.count('revoke');
    const { value } = await duringRequest(`${ROUTES}/logout`, req =>
      authenticator.logout!({ req, refreshToken: newHandle() }, env),
    );
    expect(keycloak.count('revoke')).toBe(revocations);
    const url = new URL((value as { logoutUrl: string }).logoutUrl);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: CLIENT_ID,
      post_logout_redirect_uri: 'https://app.example.com/signed-out',
    });
  });
});

describe('a session is bound to the realm and client that made it', () => {
  it('another deployment on the same store (another client) treats it as missing and leaves it alone', async () => {
    const ours = setup();
    const { result } = await ours.login();
    const handle = result.session.refreshToken!;
    const theirs = setup({ clientId: 'another-backstage' }, ours.storage);
    const grants = keycloak.count('token', 'refresh_token');

    const { error } = await duringRequest(`${ROUTES}/refresh`, req =>
      theirs.authenticator.refresh(
        { req, scope: SCOPE, refreshToken: handle },
        theirs.env,
      ),
    );
    expect(error).toBeInstanceOf(SessionEndedError);
    expect(error.message).toBe('Session not found or expired; sign in again');
    expect(keycloak.count('token', 'refresh_token')).toBe(grants);

    // nor can it sign the session out
    await duringRequest(`${ROUTES}/logout`, req =>
      theirs.authenticator.logout!({ req, refreshToken: handle }, theirs.env),
    );
    expect(await ours.store.getSession(handle)).toBeDefined();
    const { error: ownError } = await duringRequest(`${ROUTES}/refresh`, req =>
      ours.authenticator.refresh(
        { req, scope: SCOPE, refreshToken: handle },
        ours.env,
      ),
    );
    expect(ownError).toBeUndefined();
  });
});
