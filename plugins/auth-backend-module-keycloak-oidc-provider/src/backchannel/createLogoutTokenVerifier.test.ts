import { createServer, type Server } from 'node:http';
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import { KeycloakUnavailableError, LogoutTokenRejectedError } from '../errors';
import { freePort } from '@redis-session/test-support';
import {
  createLogoutTokenVerifier,
  issuerFromMetadataUrl,
} from './createLogoutTokenVerifier';
import { BACKCHANNEL_LOGOUT_EVENT } from './LogoutTokenVerifier';

const ISSUER = 'https://kc.example.com/realms/backstage';

describe('createLogoutTokenVerifier', () => {
  let server: Server;
  let port: number;
  let key: CryptoKey;
  let jwk: JWK;
  let jwksRequests = 0;
  let jwksStatus = 200;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = pair.privateKey;
    jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
    port = await freePort();
    server = createServer((_req, res) => {
      jwksRequests += 1;
      res.writeHead(jwksStatus, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>(resolve => server.listen(port, resolve));
  });

  afterAll(async () => {
    await new Promise(resolve => server.close(resolve));
  });

  const token = (jti: string) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      sid: 'sid-1',
      jti,
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'logout+jwt' })
      .setIssuer(ISSUER)
      .setAudience('backstage')
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .sign(key);
  };

  it('locates the JWKS lazily, once, and verifies against it', async () => {
    let located = 0;
    const verifier = createLogoutTokenVerifier({
      issuer: ISSUER,
      clientId: 'backstage',
      jwksUri: async () => {
        located += 1;
        return `http://localhost:${port}/certs`;
      },
      markJtiSeen: async () => true,
    });
    expect(located).toBe(0);
    expect(verifier.issuer).toBe(ISSUER);
    await expect(verifier.verify(await token('a'))).resolves.toEqual({
      sid: 'sid-1',
      jti: 'a',
    });
    await expect(verifier.verify(await token('b'))).resolves.toBeDefined();
    expect(located).toBe(1);
  });

  it('answers unavailable (not rejected) when Keycloak cannot be reached', async () => {
    const downPort = await freePort();
    const down = createLogoutTokenVerifier({
      issuer: ISSUER,
      clientId: 'backstage',
      jwksUri: `http://localhost:${downPort}/certs`,
      markJtiSeen: async () => true,
    });
    const error = await down.verify(await token('c')).catch(e => e);
    expect(error).toBeInstanceOf(KeycloakUnavailableError);
    expect(error.message).toMatch(
      new RegExp(
        `^Keycloak JWKS at http://localhost:${downPort}/certs unavailable: .*ECONNREFUSED`,
      ),
    );

    const undiscovered = createLogoutTokenVerifier({
      issuer: ISSUER,
      clientId: 'backstage',
      jwksUri: async () => {
        throw new KeycloakUnavailableError('Keycloak discovery failed');
      },
      markJtiSeen: async () => true,
    });
    await expect(undiscovered.verify(await token('d'))).rejects.toThrow(
      'Keycloak discovery failed',
    );

    jwksStatus = 500;
    try {
      const failing = createLogoutTokenVerifier({
        issuer: ISSUER,
        clientId: 'backstage',
        jwksUri: `http://localhost:${port}/certs`,
        markJtiSeen: async () => true,
      });
      await expect(failing.verify(await token('e'))).rejects.toBeInstanceOf(
        KeycloakUnavailableError,
      );
    } finally {
      jwksStatus = 200;
    }
  });

  it('rejects a token whose kid the IdP does not publish', async () => {
    const verifier = createLogoutTokenVerifier({
      issuer: ISSUER,
      clientId: 'backstage',
      jwksUri: `http://localhost:${port}/certs`,
      markJtiSeen: async () => true,
    });
    const now = Math.floor(Date.now() / 1000);
    const unknownKid = await new SignJWT({ sid: 's', jti: 'f' })
      .setProtectedHeader({ alg: 'ES256', kid: 'rotated-away' })
      .setIssuer(ISSUER)
      .setAudience('backstage')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(key);
    const before = jwksRequests;
    const error = await verifier.verify(unknownKid).catch(e => e);
    expect(error).toBeInstanceOf(LogoutTokenRejectedError);
    expect(error.message).toBe(
      'logout token rejected: no key of the IdP matches its "kid" and "alg"',
    );
    expect(jwksRequests).toBeGreaterThan(before);
  });
});

describe('issuerFromMetadataUrl', () => {
  it.each([
    [ISSUER, ISSUER],
    [`${ISSUER}/`, ISSUER],
    [`${ISSUER}/.well-known/openid-configuration`, ISSUER],
  ])('%s names %s', (metadataUrl, issuer) => {
    expect(issuerFromMetadataUrl(metadataUrl)).toBe(issuer);
  });
});
