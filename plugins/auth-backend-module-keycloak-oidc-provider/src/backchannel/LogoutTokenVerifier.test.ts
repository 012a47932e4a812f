import { InputError } from '@backstage/errors';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { LogoutTokenRejectedError } from '../errors';
import {
  BACKCHANNEL_LOGOUT_EVENT,
  LogoutTokenVerifier,
} from './LogoutTokenVerifier';
import { selectLogoutTokenVerifier } from './selectLogoutTokenVerifier';

const ISSUER = 'https://kc.example.com/realms/backstage';
const CLIENT_ID = 'backstage';
const SUB = '5b0d5c52-3a2e-4f4c-9c1e-0a11ce000001';
const SID = 'kc-session-1';

let idpKey: CryptoKey;
let otherKey: CryptoKey;
let jwks: JWTVerifyGetKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  idpKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  jwks = createLocalJWKSet({
    keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' }],
  });
});

let jtiCounter = 0;

/** A logout token as Keycloak would send it, with `changes` applied (undefined deletes). */
function claims(changes: Record<string, unknown> = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: CLIENT_ID,
    iat: now,
    exp: now + 120,
    jti: `jti-${++jtiCounter}`,
    sub: SUB,
    sid: SID,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    ...changes,
  };
  for (const [key, value] of Object.entries(base)) {
    if (value === undefined) delete base[key];
  }
  return base;
}

function sign(
  payload: JWTPayload,
  options: { key?: CryptoKey; typ?: string } = {},
) {
  return new SignJWT(payload)
    .setProtectedHeader({
      alg: 'RS256',
      kid: 'k1',
      typ: options.typ ?? 'logout+jwt',
    })
    .sign(options.key ?? idpKey);
}

describe('LogoutTokenVerifier', () => {
  let seen: Map<string, number>;
  let verifier: LogoutTokenVerifier;

  beforeEach(() => {
    seen = new Map();
    verifier = new LogoutTokenVerifier({
      issuer: ISSUER,
      clientId: CLIENT_ID,
      getKey: jwks,
      markJtiSeen: async (jti, ttlMs) => {
        if (seen.has(jti)) return false;
        seen.set(jti, ttlMs);
        return true;
      },
    });
  });

  async function rejection(token: string | Promise<string>) {
    const error = await verifier.verify(await token).then(
      () => undefined,
      e => e,
    );
    expect(error).toBeInstanceOf(LogoutTokenRejectedError);
    expect(error).toBeInstanceOf(InputError);
    return error as LogoutTokenRejectedError;
  }

  describe('accepts', () => {
    it('a token with sub and sid, and remembers its jti until exp', async () => {
      const payload = claims();
      const result = await verifier.verify(await sign(payload));
      expect(result).toEqual({ sub: SUB, sid: SID, jti: payload.jti });
      const ttl = seen.get(payload.jti!)!;
      // exp (120 s) + clock tolerance (30 s)
      expect(ttl).toBeGreaterThan(145_000);
      expect(ttl).toBeLessThanOrEqual(150_000);
    });

    it('a token with only sid', async () => {
      const payload = claims({ sub: undefined });
      expect(await verifier.verify(await sign(payload))).toEqual({
        sid: SID,
        jti: payload.jti,
      });
    });

    it('a token with only sub', async () => {
      const payload = claims({ sid: undefined });
      expect(await verifier.verify(await sign(payload))).toEqual({
        sub: SUB,
        jti: payload.jti,
      });
    });

    it('typ JWT (as Keycloak sends) or no typ, and aud as an array', async () => {
      const jwt = await sign(claims({ aud: ['other', CLIENT_ID] }), {
        typ: 'JWT',
      });
      await expect(verifier.verify(jwt)).resolves.toMatchObject({ sub: SUB });
      const noTyp = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .sign(idpKey);
      await expect(verifier.verify(noTyp)).resolves.toMatchObject({ sub: SUB });
    });
  });

  describe('rejects', () => {
    it('a signature by another key', async () => {
      const error = await rejection(sign(claims(), { key: otherKey }));
      expect(error.message).toBe(
        'logout token rejected: signature verification failed',
      );
      expect(error.reason).toBe('signature');
    });

    it('an unsecured token (alg none)', async () => {
      const token = new UnsecuredJWT(claims()).encode();
      const error = await rejection(token);
      expect(error.message).toBe(
        'logout token rejected: algorithm "none" is not allowed',
      );
    });

    it('an HS256 token (signed with a shared secret)', async () => {
      const token = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
        .sign(new TextEncoder().encode('backstage-dev-secret-but-longer-32b'));
      const error = await rejection(token);
      expect(error.message).toBe(
        'logout token rejected: algorithm "HS256" is not allowed',
      );
      expect(error.reason).toBe('alg');
    });

    it('a token from another issuer', async () => {
      const error = await rejection(
        sign(claims({ iss: 'https://evil.example.com/realms/backstage' })),
      );
      expect(error.message).toBe(
        'logout token rejected: unexpected "iss" claim value',
      );
      expect(error.reason).toBe('invalid_iss');
    });

    it('a token for another client', async () => {
      const error = await rejection(sign(claims({ aud: 'other-client' })));
      expect(error.message).toBe(
        'logout token rejected: unexpected "aud" claim value',
      );
    });

    it('an expired token (beyond the clock tolerance)', async () => {
      const now = Math.floor(Date.now() / 1000);
      const error = await rejection(
        sign(claims({ iat: now - 300, exp: now - 60 })),
      );
      expect(error.message).toBe(
        'logout token rejected: expired ("exp" claim timestamp check failed)',
      );
      expect(error.reason).toBe('expired');
    });

    it('a token without exp', async () => {
      const error = await rejection(sign(claims({ exp: undefined })));
      expect(error.message).toBe(
        'logout token rejected: missing required "exp" claim',
      );
    });

    it('a token without iat', async () => {
      const error = await rejection(sign(claims({ iat: undefined })));
      expect(error.message).toBe(
        'logout token rejected: missing required "iat" claim',
      );
      expect(error.reason).toBe('missing_iat');
    });

    it('a token issued in the future', async () => {
      const now = Math.floor(Date.now() / 1000);
      const error = await rejection(
        sign(claims({ iat: now + 600, exp: now + 700 })),
      );
      expect(error.message).toBe(
        'logout token rejected: "iat" claim timestamp check failed (it should be in the past)',
      );
    });

    it('a token without events', async () => {
      const error = await rejection(sign(claims({ events: undefined })));
      expect(error.message).toBe(
        'logout token rejected: missing required "events" claim',
      );
    });

    it('a token whose events lack the back-channel logout event', async () => {
      const wrongKey = await rejection(
        sign(
          claims({
            events: { 'http://schemas.openid.net/event/other': {} },
          }),
        ),
      );
      expect(wrongKey.message).toBe(
        `logout token rejected: "events" claim has no ${BACKCHANNEL_LOGOUT_EVENT} object`,
      );
      const notAnObject = await rejection(
        sign(claims({ events: { [BACKCHANNEL_LOGOUT_EVENT]: 'yes' } })),
      );
      expect(notAnObject.message).toBe(wrongKey.message);
    });

    it('a token with a nonce (an ID token)', async () => {
      const error = await rejection(sign(claims({ nonce: 'n-0S6_WzA2Mj' })));
      expect(error.message).toBe('logout token rejected: contains a nonce');
      expect(error.reason).toBe('nonce');
    });

    it('a token with neither sub nor sid', async () => {
      const error = await rejection(
        sign(claims({ sub: undefined, sid: undefined })),
      );
      expect(error.message).toBe(
        'logout token rejected: contains neither a "sub" nor a "sid" claim',
      );
    });

    it('a non-string sid', async () => {
      const error = await rejection(sign(claims({ sid: 42 })));
      expect(error.message).toBe(
        'logout token rejected: "sid" claim must be a non-empty string',
      );
    });

    it('a replayed token (same jti)', async () => {
      const token = await sign(claims());
      await verifier.verify(token);
      const error = await rejection(token);
      expect(error.message).toBe('logout token rejected: jti already used');
      expect(error.reason).toBe('replay');
    });

    it('a token without jti', async () => {
      const error = await rejection(sign(claims({ jti: undefined })));
      expect(error.message).toBe(
        'logout token rejected: missing required "jti" claim',
      );
    });

    it('a typ other than logout+jwt or JWT', async () => {
      const error = await rejection(sign(claims(), { typ: 'at+jwt' }));
      expect(error.message).toBe(
        'logout token rejected: unexpected "typ" header value (expected logout+jwt or JWT)',
      );
    });

    it('garbage that is not a JWT', async () => {
      for (const garbage of ['not-a-jwt', 'a.b.c', '', '....']) {
        const error = await rejection(garbage);
        expect(error.message).toMatch(
          /^logout token rejected: not a valid signed JWT \(.+\)$/,
        );
        expect(error.reason).toBe('malformed');
      }
    });

    it('remembers no jti of a token that failed another check', async () => {
      const payload = claims({ nonce: 'x' });
      await rejection(sign(payload));
      expect(seen.size).toBe(0);
    });
  });

  it('never puts the token in its messages', async () => {
    const token = await sign(claims({ aud: 'other-client' }), {
      key: otherKey,
    });
    const error = await rejection(token);
    for (const part of token.split('.')) {
      expect(error.message).not.toContain(part);
    }
  });

  it('refuses to be configured with none or HS256', () => {
    expect(
      () =>
        new LogoutTokenVerifier({
          issuer: ISSUER,
          clientId: CLIENT_ID,
          getKey: jwks,
          markJtiSeen: async () => true,
          algorithms: ['RS256', 'HS256'],
        }),
    ).toThrow('asymmetric algorithms only');
  });
});

describe('selectLogoutTokenVerifier', () => {
  /** A verifier that records when it is asked. */
  function verifierFor(issuer: string, clientId: string, calls: string[]) {
    const verifier = new LogoutTokenVerifier({
      issuer,
      clientId,
      getKey: jwks,
      markJtiSeen: async () => true,
    });
    return {
      issuer,
      clientId,
      verify(token: string) {
        calls.push(`${issuer} ${clientId}`);
        return verifier.verify(token);
      },
    };
  }

  it("routes by the token's iss and aud, then verifies fully", async () => {
    const calls: string[] = [];
    const select = selectLogoutTokenVerifier([
      verifierFor('https://kc.example.com/realms/other', CLIENT_ID, calls),
      verifierFor(ISSUER, 'another-client', calls),
      verifierFor(ISSUER, CLIENT_ID, calls),
    ]);
    await expect(select.verify(await sign(claims()))).resolves.toMatchObject({
      sub: SUB,
    });
    expect(calls).toEqual([`${ISSUER} ${CLIENT_ID}`]);

    // routing on unverified claims does not skip verification
    await expect(
      select.verify(await sign(claims(), { key: otherKey })),
    ).rejects.toThrow('logout token rejected: signature verification failed');

    await expect(
      select.verify(await sign(claims({ iss: 'https://evil.example.com' }))),
    ).rejects.toThrow('logout token rejected: unexpected "iss" claim value');
    await expect(select.verify('garbage')).rejects.toThrow(
      LogoutTokenRejectedError,
    );
  });
});
