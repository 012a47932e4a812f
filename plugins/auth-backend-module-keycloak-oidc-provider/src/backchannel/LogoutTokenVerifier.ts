import { ServiceUnavailableError } from '@backstage/errors';
import {
  decodeProtectedHeader,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyResult,
} from 'jose';
import { LogoutTokenRejectedError } from '../errors';

/** The `events` member that makes a JWT a back-channel logout token. */
export const BACKCHANNEL_LOGOUT_EVENT =
  'http://schemas.openid.net/event/backchannel-logout';

/**
 * Asymmetric signatures only. `none` would let anyone forge a logout, and
 * an HS* token is signed with the client secret, which the RP itself holds
 * (and Keycloak signs logout tokens with the realm key anyway).
 */
export const LOGOUT_TOKEN_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Whom a logout token signs out: a user, one of their sessions, or both. */
export type LogoutTokenSubject =
  { sub: string; sid?: string } | { sid: string; sub?: undefined };

/** What a valid logout token says. */
export type LogoutTokenClaims = LogoutTokenSubject & { jti: string };

/**
 * Remembers a `jti` for `ttlMs`; true the first time, false for a replay.
 * `SessionStore.markLogoutTokenSeen` has this shape.
 */
export type MarkJtiSeen = (jti: string, ttlMs: number) => Promise<boolean>;

export interface LogoutTokenVerifierOptions {
  /** The expected `iss`: the realm's issuer exactly as discovery reports it */
  issuer: string;
  /** The expected `aud`: this client's id */
  clientId: string;
  /** The IdP's signing keys; `createRemoteJWKSet(jwks_uri)` in production */
  getKey: JWTVerifyGetKey;
  markJtiSeen: MarkJtiSeen;
  /** Default LOGOUT_TOKEN_ALGORITHMS; never include none or HS* */
  algorithms?: readonly string[];
  /** Seconds of clock skew allowed on `exp` and `iat`; default 30 */
  clockToleranceSeconds?: number;
  /**
   * Oldest `iat` accepted, in seconds; default 600. Logout tokens are
   * delivered at once (oidc-provider gives them 2 minutes), so this only
   * bounds how long a `jti` must be remembered when `exp` is far away.
   */
  maxTokenAgeSeconds?: number;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const reject = (reason: string, problem: string): never => {
  throw new LogoutTokenRejectedError(reason, problem);
};

/** The token's `alg` for an error message, if it is a plausible name. */
function describeAlg(token: string): string {
  try {
    const { alg } = decodeProtectedHeader(token);
    if (typeof alg === 'string' && /^[A-Za-z0-9+_-]{1,20}$/.test(alg)) {
      return `"${alg}"`;
    }
  } catch {
    // fall through: the header was already found unreadable or odd
  }
  return 'in its header';
}

/**
 * Turns jose's verdict into a LogoutTokenRejectedError naming the failed
 * check. jose's messages carry claim names, never claim values; the error
 * objects themselves carry the payload, so they are not kept as a cause.
 */
function rejection(error: unknown, token: string): unknown {
  if (error instanceof ServiceUnavailableError) {
    return error; // the IdP's keys could not be fetched: not the token's fault
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = (error as { message?: unknown } | undefined)?.message;
  const text = typeof message === 'string' ? message : String(error);
  switch (code) {
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = error as { claim: string; reason: string };
      return new LogoutTokenRejectedError(
        `${reason === 'missing' ? 'missing' : 'invalid'}_${claim}`,
        text,
      );
    }
    case 'ERR_JWT_EXPIRED':
      return new LogoutTokenRejectedError('expired', `expired (${text})`);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new LogoutTokenRejectedError(
        'alg',
        `algorithm ${describeAlg(token)} is not allowed`,
      );
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new LogoutTokenRejectedError(
        'signature',
        'signature verification failed',
      );
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new LogoutTokenRejectedError(
        'unknown_key',
        'no key of the IdP matches its "kid" and "alg"',
      );
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new LogoutTokenRejectedError(
        'unknown_key',
        'several keys of the IdP match and it names no "kid"',
      );
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWK_INVALID':
      return new LogoutTokenRejectedError(
        'malformed',
        `not a valid signed JWT (${text})`,
      );
    default:
      return error;
  }
}

/**
 * Validates an OIDC Back-Channel Logout 1.0 logout token (section 2.6) for
 * one issuer and client: signature with jose against the IdP's keys, then
 * `iss`, `aud`, `iat`, `exp`, `typ`, the logout event, `sub`/`sid`, no
 * `nonce`, and finally a single use of `jti`, in the order the spec lists
 * them so a token is only remembered once everything else holds.
 */
export class LogoutTokenVerifier {
  readonly issuer: string;
  readonly clientId: string;
  readonly #getKey: JWTVerifyGetKey;
  readonly #markJtiSeen: MarkJtiSeen;
  readonly #algorithms: string[];
  readonly #clockTolerance: number;
  readonly #maxTokenAge: number;

  constructor(options: LogoutTokenVerifierOptions) {
    this.issuer = options.issuer;
    this.clientId = options.clientId;
    this.#getKey = options.getKey;
    this.#markJtiSeen = options.markJtiSeen;
    this.#algorithms = [...(options.algorithms ?? LOGOUT_TOKEN_ALGORITHMS)];
    if (this.#algorithms.some(alg => alg === 'none' || /^HS/i.test(alg))) {
      throw new TypeError(
        'Logout tokens must be verified with asymmetric algorithms only',
      );
    }
    this.#clockTolerance = options.clockToleranceSeconds ?? 30;
    this.#maxTokenAge = options.maxTokenAgeSeconds ?? 600;
  }

  async verify(token: string): Promise<LogoutTokenClaims> {
    if (typeof token !== 'string' || token.length === 0) {
      reject('malformed', 'not a valid signed JWT (empty)');
    }
    let result: JWTVerifyResult<JWTPayload>;
    try {
      result = await jwtVerify(token, this.#getKey, {
        issuer: this.issuer,
        audience: this.clientId,
        algorithms: this.#algorithms,
        clockTolerance: this.#clockTolerance,
        maxTokenAge: this.#maxTokenAge,
        requiredClaims: ['iat', 'exp', 'jti'],
      });
    } catch (error) {
      throw rejection(error, token);
    }
    const { payload, protectedHeader } = result;

    // The spec recommends typ logout+jwt; Keycloak sends plain JWT.
    if (protectedHeader.typ !== undefined) {
      const typ = String(protectedHeader.typ)
        .toLowerCase()
        .replace(/^application\//, '');
      if (typ !== 'logout+jwt' && typ !== 'jwt') {
        reject(
          'invalid_typ',
          'unexpected "typ" header value (expected logout+jwt or JWT)',
        );
      }
    }

    const { sub, sid } = payload as { sub?: unknown; sid?: unknown };
    for (const [name, value] of [
      ['sub', sub],
      ['sid', sid],
    ] as const) {
      if (value !== undefined && (typeof value !== 'string' || !value)) {
        reject(`invalid_${name}`, `"${name}" claim must be a non-empty string`);
      }
    }
    if (sub === undefined && sid === undefined) {
      reject('missing_sub_sid', 'contains neither a "sub" nor a "sid" claim');
    }

    if (payload.events === undefined) {
      reject('missing_events', 'missing required "events" claim');
    }
    if (
      !isObject(payload.events) ||
      !isObject(payload.events[BACKCHANNEL_LOGOUT_EVENT])
    ) {
      reject(
        'invalid_events',
        `"events" claim has no ${BACKCHANNEL_LOGOUT_EVENT} object`,
      );
    }

    // A nonce marks an ID token; refusing it stops an ID token being
    // replayed as a logout token.
    if (Object.hasOwn(payload, 'nonce')) {
      reject('nonce', 'contains a nonce');
    }

    const { jti } = payload;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
      reject('invalid_jti', '"jti" claim must be a string of 1 to 256 chars');
    }
    // Remembered for as long as jose would still accept the token.
    const acceptedUntil =
      Math.min(payload.exp!, payload.iat! + this.#maxTokenAge) +
      this.#clockTolerance;
    const ttlMs = Math.max(1000, acceptedUntil * 1000 - Date.now());
    if (!(await this.#markJtiSeen(jti as string, ttlMs))) {
      reject('replay', 'jti already used');
    }

    const subject: LogoutTokenSubject =
      sub === undefined
        ? { sid: sid as string }
        : {
            sub: sub as string,
            ...(sid !== undefined && { sid: sid as string }),
          };
    return { ...subject, jti: jti as string };
  }
}
