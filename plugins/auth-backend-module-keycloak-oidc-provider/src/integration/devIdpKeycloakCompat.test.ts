import { createHash } from 'node:crypto';
import { Browser, loginFormAction } from '../__testUtils__/Browser';
import { DevIdp } from '../__testUtils__/DevIdp';

jest.setTimeout(30_000);

const CALLBACK = 'http://localhost:7007/api/auth/keycloak-oidc/handler/frame';
const basic = `Basic ${Buffer.from('backstage:backstage-dev-secret').toString('base64')}`;
const VERIFIER = 'a-fixed-pkce-verifier-for-this-test-only-0123456789';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

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

  const token = (params: Record<string, string>) =>
    fetch(`${idp.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: {
        authorization: basic,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(params),
    });

  async function codeFor(user: string, password: string) {
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
  async function signInTokens(user: string) {
    const code = await codeFor(user, user);
    const res = await token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: CALLBACK,
      code_verifier: VERIFIER,
    });
    expect(res.status).toBe(200);
    return res.json();
  }

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
    const tokens = await signInTokens('alice');
    expect(tokens).toMatchObject({
      access_token: expect.any(String),
      id_token: expect.any(String),
      refresh_token: expect.any(String),
      refresh_expires_in: expect.any(Number),
    });
    expect(tokens.refresh_expires_in).toBeGreaterThan(1790);
    const claims = JSON.parse(
      Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString(),
    );
    expect(claims).toMatchObject({
      sub: '5b0d5c52-3a2e-4f4c-9c1e-0a11ce000001',
      preferred_username: 'alice',
      email: 'alice@example.com',
      sid: expect.any(String),
    });

    const rotated = await token({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    });
    expect(rotated.status).toBe(200);
    const next = await rotated.json();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);

    const reuse = await token({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    });
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Maximum allowed refresh token reuse exceeded',
    });

    const unknown = await token({
      grant_type: 'refresh_token',
      refresh_token: 'x'.repeat(43),
    });
    expect(await unknown.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Session not active',
    });
  });

  it('loses sessions but keeps its signing key across a restart', async () => {
    const tokens = await signInTokens('bob');
    const jwksBefore = await (
      await fetch(`${idp.issuer}/protocol/openid-connect/certs`)
    ).json();

    await idp.restart();

    const res = await token({
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
