import type { ServerResponse } from 'node:http';
import { KeycloakUnavailableError } from '../errors';
import { freePort } from '@redis-session/test-support';
import {
  json,
  KeycloakLikeServer,
  type Respond,
} from '../__testUtils__/KeycloakLikeServer';
import {
  KeycloakInvalidGrantError,
  KeycloakOidcClient,
} from './KeycloakOidcClient';

/** A client whose Keycloak would be at `port`, where nothing listens */
function clientOfNothing(port: number) {
  return new KeycloakOidcClient({
    metadataUrl: `http://127.0.0.1:${port}/realms/test`,
    clientId: 'backstage',
    clientSecret: 'secret',
    callbackUrl: 'http://localhost:7007/cb',
    tokenEndpointAuthMethod: 'client_secret_basic',
    timeoutMs: 1000,
  });
}

/**
 * How the client classifies Keycloak's answers to a refresh, against a
 * local HTTP server that answers like a failing Keycloak would.
 */
describe('KeycloakOidcClient.refresh', () => {
  let keycloak: KeycloakLikeServer;
  let tokenResponse: Respond;

  beforeAll(async () => {
    keycloak = await KeycloakLikeServer.start();
    keycloak.intercept = call =>
      call.endpoint === 'token' ? tokenResponse : undefined;
  });

  afterAll(() => keycloak.close());

  const client = () => keycloak.client();

  it("turns invalid_grant into KeycloakInvalidGrantError with Keycloak's description", async () => {
    tokenResponse = json(400, {
      error: 'invalid_grant',
      error_description: 'Token is not active',
    });
    const error = await client()
      .refresh('rt')
      .catch(e => e);
    expect(error).toBeInstanceOf(KeycloakInvalidGrantError);
    expect(error.description).toBe('Token is not active');
    expect(error.message).not.toContain('rt');
  });

  it.each([
    [
      'a 502 HTML page',
      (res: ServerResponse) => {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html>Bad Gateway</html>');
      },
      /HTTP 502/,
    ],
    [
      'a 503 JSON error',
      json(503, { error: 'temporarily_unavailable' }),
      /HTTP 503/,
    ],
    [
      'invalid_client (a configuration problem, not the session)',
      json(401, { error: 'invalid_client' }),
      /invalid_client/,
    ],
  ])(
    'keeps the session on %s: KeycloakUnavailableError',
    async (_, respond, reason) => {
      tokenResponse = respond;
      const error = await client()
        .refresh('rt')
        .catch(e => e);
      expect(error).toBeInstanceOf(KeycloakUnavailableError);
      expect(error.message).toMatch(
        /^Keycloak token endpoint failed during refresh: /,
      );
      expect(error.message).toMatch(reason);
    },
  );

  it('waits for a refresh grant beyond the timeout: Keycloak may have granted it', async () => {
    // the client's timeout is 1 s; the answer comes after 1.5 s
    tokenResponse = res => {
      setTimeout(
        () =>
          json(400, {
            error: 'invalid_grant',
            error_description: 'Token is not active',
          })(res),
        1500,
      );
    };
    const error = await client()
      .refresh('rt')
      .catch(e => e);
    expect(error).toBeInstanceOf(KeycloakInvalidGrantError);
  });

  it('reports an unreachable Keycloak at discovery, and retries discovery later', async () => {
    const closedPort = await freePort();
    const unreachable = clientOfNothing(closedPort);
    const error = await unreachable.refresh('rt').catch(e => e);
    expect(error).toBeInstanceOf(KeycloakUnavailableError);
    expect(error.message).toMatch(
      new RegExp(
        `^Keycloak discovery at http://127.0.0.1:${closedPort}/realms/test failed: .*ECONNREFUSED`,
      ),
    );

    tokenResponse = json(400, {
      error: 'invalid_grant',
      error_description: 'Session not active',
    });
    const recovered = client();
    await expect(recovered.refresh('rt')).rejects.toBeInstanceOf(
      KeycloakInvalidGrantError,
    );
  });
});

/** Userinfo at login, against a local server answering like Keycloak. */
describe('KeycloakOidcClient.userInfo', () => {
  let keycloak: KeycloakLikeServer;
  let userinfo: { status: number; body: object };

  beforeAll(async () => {
    keycloak = await KeycloakLikeServer.start();
    keycloak.intercept = call =>
      call.endpoint === 'userinfo'
        ? json(userinfo.status, userinfo.body)
        : undefined;
  });

  afterAll(() => keycloak.close());

  const client = () => keycloak.client();

  it('returns the claims for the expected subject', async () => {
    userinfo = {
      status: 200,
      body: { sub: 'user-1', email: 'alice@example.com' },
    };
    await expect(client().userInfo('access', 'user-1')).resolves.toEqual({
      sub: 'user-1',
      email: 'alice@example.com',
    });
  });

  it('refuses claims about another subject', async () => {
    userinfo = {
      status: 200,
      body: { sub: 'someone-else', email: 'mallory@example.com' },
    };
    await expect(client().userInfo('access', 'user-1')).rejects.toMatchObject({
      name: 'AuthenticationError',
      message:
        'Keycloak userinfo answered for a different subject than the ID token; login refused',
    });
  });

  it('names the userinfo endpoint when Keycloak fails', async () => {
    userinfo = { status: 503, body: { error: 'unavailable' } };
    const error = await client()
      .userInfo('access', 'user-1')
      .catch(e => e);
    expect(error).toBeInstanceOf(KeycloakUnavailableError);
    expect(error.message).toMatch(
      /^Keycloak userinfo endpoint failed during login: /,
    );
  });
});

/**
 * /start's check that Keycloak answers: the authorization URL comes from
 * cached metadata, so without it an outage shows in the sign-in popup as
 * the browser's own "This site can't be reached".
 */
describe('KeycloakOidcClient.assertReachable', () => {
  let keycloak: KeycloakLikeServer;
  let discovery: Respond | undefined;

  beforeAll(async () => {
    keycloak = await KeycloakLikeServer.start();
    keycloak.intercept = call =>
      call.endpoint === 'discovery' ? discovery : undefined;
  });

  afterAll(() => keycloak.close());

  it('passes while Keycloak answers, after discovery is cached', async () => {
    const client = keycloak.client();
    await client.authorizationUrl({
      state: 's',
      scope: 'openid',
      transaction: {
        codeVerifier: 'v'.repeat(43),
        nonce: 'n',
        browserBinding: 'b',
        createdAt: 0,
      },
    });
    const before = keycloak.count('discovery');

    await expect(client.assertReachable()).resolves.toBeUndefined();
    expect(keycloak.count('discovery')).toBe(before + 1);
  });

  it('asks once for concurrent sign-ins, and trusts an answer for a moment', async () => {
    const client = keycloak.client();
    const before = keycloak.count('discovery');

    await Promise.all([
      client.assertReachable(),
      client.assertReachable(),
      client.assertReachable(),
    ]);
    await client.assertReachable();

    expect(keycloak.count('discovery')).toBe(before + 1);
  });

  it('is a KeycloakUnavailableError when Keycloak answers 5xx', async () => {
    discovery = json(503, { error: 'temporarily_unavailable' });
    try {
      const error = await keycloak
        .client()
        .assertReachable()
        .catch(e => e);
      expect(error).toBeInstanceOf(KeycloakUnavailableError);
      expect(error.message).toMatch(/HTTP 503/);
    } finally {
      discovery = undefined;
    }
  });

  it('is a KeycloakUnavailableError naming the cause when nothing listens', async () => {
    const closedPort = await freePort();
    const unreachable = clientOfNothing(closedPort);
    const error = await unreachable.assertReachable().catch(e => e);
    expect(error).toBeInstanceOf(KeycloakUnavailableError);
    expect(error.message).toMatch(
      new RegExp(
        `^Keycloak at http://127.0.0.1:${closedPort}/realms/test cannot be reached to start a sign-in: .*ECONNREFUSED`,
      ),
    );
  });
});
