import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { Browser, loginFormAction } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';

jest.setTimeout(30_000);

const DEV_IDP_MAIN = resolve(
  __dirname,
  '../../../../packages/keycloak-dev-idp/src/main.mjs',
);
const CALLBACK = 'http://localhost:7007/api/auth/keycloak-oidc/handler/frame';
const basic = `Basic ${Buffer.from('backstage:backstage-dev-secret').toString('base64')}`;
const VERIFIER = 'a-fixed-pkce-verifier-for-this-test-only-0123456789';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

const token = (idp: DevIdp, params: Record<string, string>) =>
  fetch(`${idp.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: {
      authorization: basic,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(params),
  });

async function codeFor(idp: DevIdp, user: string, password: string) {
  const browser = new Browser();
  const auth = new URL(`${idp.issuer}/protocol/openid-connect/auth`);
  auth.search = new URLSearchParams({
    client_id: 'backstage',
    redirect_uri: CALLBACK,
    response_type: 'code',
    scope: 'openid profile email',
    state: 'st',
    nonce: 'nn',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
  }).toString();
  const page = await browser.follow(auth.href);
  expect(page.res.status).toBe(200);
  const html = await page.res.text();
  const action = loginFormAction(html, page.url);
  const post = (pw: string) =>
    browser.follow(action, {
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: user, password: pw }),
      },
      stopAt: url => url.href.startsWith(CALLBACK),
    });
  const wrong = await post('wrong');
  expect(await wrong.res.text()).toContain('Invalid username or password.');
  const done = await post(password);
  return new URL(done.url).searchParams.get('code')!;
}

/** Logs in (password = username) and exchanges the code. */
async function signInTokens(idp: DevIdp, user: string) {
  const code = await codeFor(idp, user, user);
  const res = await token(idp, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: CALLBACK,
    code_verifier: VERIFIER,
  });
  expect(res.status).toBe(200);
  return res.json();
}

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

/**
 * The dev IdP stands in for Keycloak in every other test; these pin down
 * the Keycloak behaviour those tests rely on.
 */
describe('keycloak-dev-idp (started with its default settings)', () => {
  let idp: DevIdp;

  beforeAll(async () => {
    idp = await DevIdp.start([], { defaults: true });
  });

  afterAll(async () => {
    await idp?.stop();
  });

  it('serves Keycloak URLs in its discovery document', async () => {
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    const meta = await res.json();
    const oidc = `${idp.issuer}/protocol/openid-connect`;
    expect(meta).toMatchObject({
      issuer: idp.issuer,
      authorization_endpoint: `${oidc}/auth`,
      token_endpoint: `${oidc}/token`,
      userinfo_endpoint: `${oidc}/userinfo`,
      jwks_uri: `${oidc}/certs`,
      end_session_endpoint: `${oidc}/logout`,
      revocation_endpoint: `${oidc}/revoke`,
      introspection_endpoint: `${oidc}/token/introspect`,
    });
  });

  it('issues Keycloak-like tokens and invalid_grant descriptions', async () => {
    const tokens = await signInTokens(idp, 'alice');
    expect(tokens).toMatchObject({
      access_token: expect.any(String),
      id_token: expect.any(String),
      refresh_token: expect.any(String),
      refresh_expires_in: expect.any(Number),
    });
    expect(tokens.refresh_expires_in).toBeGreaterThan(1790);
    const claims = claimsOf(tokens.id_token);
    expect(claims).toMatchObject({
      sub: '5b0d5c52-3a2e-4f4c-9c1e-0a11ce000001',
      preferred_username: 'alice',
      email: 'alice@example.com',
      sid: expect.any(String),
    });

    const rotated = await token(idp, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    });
    expect(rotated.status).toBe(200);
    const next = await rotated.json();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);

    const reuse = await token(idp, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    });
    expect(reuse.status).toBe(400);
    // real Keycloak 26.7.3 (src/keycloak/rotation.test.ts) says the same
    expect(await reuse.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Stale token',
    });

    const unknown = await token(idp, {
      grant_type: 'refresh_token',
      refresh_token: 'x'.repeat(43),
    });
    expect(await unknown.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Session not active',
    });
  });

  it('issues opaque (non-JWT) access tokens', async () => {
    const tokens = await signInTokens(idp, 'carol');
    const rotated = await token(idp, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    });
    expect(rotated.status).toBe(200);
    const next = await rotated.json();
    for (const accessToken of [tokens.access_token, next.access_token]) {
      expect(accessToken).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(() => decodeProtectedHeader(accessToken)).toThrow();
    }
  });

  it('loses sessions but keeps its signing key across a restart', async () => {
    const tokens = await signInTokens(idp, 'bob');
    const jwksBefore = await (
      await fetch(`${idp.issuer}/protocol/openid-connect/certs`)
    ).json();

    await idp.restart();

    const res = await token(idp, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Session not active',
    });
    const jwksAfter = await (
      await fetch(`${idp.issuer}/protocol/openid-connect/certs`)
    ).json();
    expect(jwksAfter.keys[0].kid).toBe(jwksBefore.keys[0].kid);
  });

  it('refuses redirect URIs that are not registered', async () => {
    const auth = new URL(`${idp.issuer}/protocol/openid-connect/auth`);
    auth.search = new URLSearchParams({
      client_id: 'backstage',
      redirect_uri: 'http://evil.example/callback',
      response_type: 'code',
      scope: 'openid',
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
    }).toString();
    const res = await fetch(auth, { redirect: 'manual' });
    expect(res.status).toBe(400);
  });
});

/**
 * Redirect URIs are matched on the parsed URI, not the string: the
 * documented `--redirect-uri 'http://localhost:*'` must not let
 * `http://localhost:1@evil.example/steal` receive a code.
 */
describe('keycloak-dev-idp redirect URI matching', () => {
  let idp: DevIdp;

  beforeAll(async () => {
    idp = await DevIdp.start(); // --redirect-uri/--post-logout-redirect-uri http://localhost:*
  });

  afterAll(async () => {
    await idp?.stop();
  });

  const authorize = (redirectUri: string) => {
    const auth = new URL(`${idp.issuer}/protocol/openid-connect/auth`);
    auth.search = new URLSearchParams({
      client_id: 'backstage',
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid',
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
    }).toString();
    return fetch(auth, { redirect: 'manual' });
  };

  it.each([
    'http://localhost:1@evil.example/steal',
    'http://localhost:7007@evil.example/',
    'http://localhost.evil.example/callback',
  ])('refuses %s', async uri => {
    const res = await authorize(uri);
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  it('accepts a localhost callback on any port', async () => {
    const res = await authorize(
      'http://localhost:7007/api/auth/keycloak-oidc/handler/frame',
    );
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get('location')!, idp.issuer).pathname).toMatch(
      /\/interaction\//,
    );
  });

  it('refuses a post-logout redirect that only starts like an allowed one', async () => {
    const logout = new URL(`${idp.issuer}/protocol/openid-connect/logout`);
    logout.search = new URLSearchParams({
      client_id: 'backstage',
      post_logout_redirect_uri: 'http://localhost:7007@evil.example/',
    }).toString();
    const res = await fetch(logout, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  it('refuses to listen beyond this machine with the public default client secret', () => {
    const run = spawnSync(
      process.execPath,
      [DEV_IDP_MAIN, '--port', '0', '--host', '0.0.0.0'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      'keycloak-dev-idp: refusing to listen on 0.0.0.0 with the public default client secret',
    );
  });

  it('refuses to start under NODE_ENV=production unless forced', () => {
    const run = spawnSync(process.execPath, [DEV_IDP_MAIN, '--port', '0'], {
      env: { ...process.env, NODE_ENV: 'production' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      'keycloak-dev-idp: refusing to start with NODE_ENV=production',
    );
  });
});

describe('keycloak-dev-idp --jwt-access-tokens', () => {
  let idp: DevIdp;

  beforeAll(async () => {
    idp = await DevIdp.start(['--jwt-access-tokens'], { defaults: true });
  });

  afterAll(async () => {
    await idp?.stop();
  });

  const oidc = (path: string) =>
    `${idp.issuer}/protocol/openid-connect/${path}`;
  const postForm = (path: string, params: Record<string, string>) =>
    fetch(oidc(path), {
      method: 'POST',
      headers: {
        authorization: basic,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(params),
    });

  /** Checks a Keycloak-like RS256 JWT access token and returns its claims. */
  async function verifiedAccessToken(accessToken: string) {
    expect(accessToken.split('.')).toHaveLength(3);
    expect(accessToken.length).toBeGreaterThanOrEqual(1000);
    expect(accessToken.length).toBeLessThanOrEqual(1800);
    expect(decodeProtectedHeader(accessToken)).toMatchObject({
      alg: 'RS256',
      kid: expect.any(String),
    });
    const { payload } = await jwtVerify(
      accessToken,
      createRemoteJWKSet(new URL(oidc('certs'))),
      { issuer: idp.issuer, audience: 'account', algorithms: ['RS256'] },
    );
    expect(payload).toMatchObject({
      sub: '5b0d5c52-3a2e-4f4c-9c1e-0a11ce000001',
      sid: expect.any(String),
      typ: 'Bearer',
      azp: 'backstage',
      preferred_username: 'alice',
      email: 'alice@example.com',
      scope: 'openid profile email',
      realm_access: {
        roles: expect.arrayContaining([
          'default-roles-backstage',
          'offline_access',
          'uma_authorization',
        ]),
      },
      resource_access: {
        account: { roles: expect.arrayContaining(['manage-account']) },
      },
    });
    return payload;
  }

  it('issues Keycloak-sized RS256 JWT access tokens on code exchange and refresh', async () => {
    const tokens = await signInTokens(idp, 'alice');
    const first = await verifiedAccessToken(tokens.access_token);
    expect(first.sid).toBe(claimsOf(tokens.id_token).sid);
    expect(tokens.refresh_token).not.toContain('.');

    const rotated = await token(idp, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    });
    expect(rotated.status).toBe(200);
    const next = await rotated.json();
    expect(next.access_token).not.toBe(tokens.access_token);
    const refreshed = await verifiedAccessToken(next.access_token);
    expect(refreshed.sid).toBe(first.sid);
    expect(refreshed.jti).not.toBe(first.jti);
  });

  it('answers userinfo, introspection and revocation for them like Keycloak', async () => {
    const tokens = await signInTokens(idp, 'alice');
    const accessToken: string = tokens.access_token;

    const userinfo = await fetch(oidc('userinfo'), {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({
      sub: '5b0d5c52-3a2e-4f4c-9c1e-0a11ce000001',
      preferred_username: 'alice',
    });

    const introspect = async (value: string) =>
      (await postForm('token/introspect', { token: value })).json();
    expect(await introspect(accessToken)).toMatchObject({
      active: true,
      sub: '5b0d5c52-3a2e-4f4c-9c1e-0a11ce000001',
      client_id: 'backstage',
      username: 'alice',
      token_type: 'Bearer',
    });
    expect(await introspect(tokens.refresh_token)).toMatchObject({
      active: true,
    });

    const revoked = await postForm('revoke', {
      token: accessToken,
      token_type_hint: 'access_token',
    });
    expect(revoked.status).toBe(200);
    expect(await introspect(accessToken)).toEqual({ active: false });
    // only that access token: the session and its refresh token live on
    expect(await introspect(tokens.refresh_token)).toMatchObject({
      active: true,
    });
    const rejected = await fetch(oidc('userinfo'), {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(rejected.status).toBe(401);
  });
});
