import type { SessionRecord } from './types';

/** The record's JWTs, in the order their signatures follow the JSON. */
const TOKEN_FIELDS = ['accessToken', 'refreshToken', 'idToken'] as const;

/** A JWT as stored: its header and payload JSON, its signature's length. */
interface StoredJwt {
  h: string;
  p: string;
  s: number;
}

/** base64url that decodes to text and spells exactly `segment` again. */
function textOf(segment: string): string | undefined {
  const text = Buffer.from(segment, 'base64url').toString('utf8');
  return Buffer.from(text, 'utf8').toString('base64url') === segment
    ? text
    : undefined;
}

function bytesOf(segment: string): Buffer | undefined {
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : undefined;
}

/**
 * A session record as the bytes that get sealed: JSON in which each of the
 * three JWTs is its header and payload JSON (not base64url: Keycloak's
 * tokens repeat most of their claims, which deflate then finds), followed
 * by the tokens' raw signatures. A token that is not a JWT, or whose
 * segments would not re-encode to the same text, stays a string, so
 * `decodeRecord` always gives back the exact tokens Keycloak issued.
 * `[4-byte JSON length][JSON][signatures]`.
 */
export function encodeRecord(record: SessionRecord): Buffer {
  const stored: Record<string, unknown> = { ...record };
  const signatures: Buffer[] = [];
  for (const field of TOKEN_FIELDS) {
    const token = record[field];
    const [h, p, s, ...rest] = token?.split('.') ?? [];
    const header = h !== undefined ? textOf(h) : undefined;
    const payload = p !== undefined ? textOf(p) : undefined;
    const signature = s !== undefined ? bytesOf(s) : undefined;
    if (rest.length === 0 && header && payload && signature) {
      stored[field] = { h: header, p: payload, s: signature.length };
      signatures.push(signature);
    }
  }
  const json = Buffer.from(JSON.stringify(stored), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json, ...signatures]);
}

/** The record `encodeRecord` made, or undefined for anything else. */
export function decodeRecord(bytes: Buffer): SessionRecord | undefined {
  try {
    const jsonEnd = 4 + bytes.readUInt32BE(0);
    const stored = JSON.parse(bytes.subarray(4, jsonEnd).toString('utf8'));
    let at = jsonEnd;
    for (const field of TOKEN_FIELDS) {
      const jwt = stored[field] as StoredJwt | string | undefined;
      if (jwt && typeof jwt === 'object') {
        const signature = bytes.subarray(at, at + jwt.s);
        at += jwt.s;
        stored[field] = [
          Buffer.from(jwt.h, 'utf8').toString('base64url'),
          Buffer.from(jwt.p, 'utf8').toString('base64url'),
          signature.toString('base64url'),
        ].join('.');
      }
    }
    return at === bytes.length ? (stored as SessionRecord) : undefined;
  } catch {
    return undefined;
  }
}

const segment = (value: object) =>
  Buffer.from(JSON.stringify(value)).toString('base64url');
const ID = '00000000-0000-0000-0000-000000000000';
const CLAIMS = {
  exp: 1765000300,
  iat: 1765000000,
  auth_time: 1765000000,
  jti: `onrtac:${ID}`,
  iss: 'https://keycloak.example.com/realms/backstage',
  aud: 'account',
  sub: ID,
  typ: 'Bearer',
  azp: 'backstage',
  sid: ID,
  acr: '1',
};
const PROFILE = {
  email_verified: true,
  name: 'Alice Example',
  preferred_username: 'alice',
  given_name: 'Alice',
  family_name: 'Example',
  email: 'alice@example.com',
};
const KID = 'A'.repeat(43);

/**
 * Deflate's preset dictionary for session records: the JSON `encodeRecord`
 * makes of a record with Keycloak 26's default tokens, so even the first
 * occurrence of a claim name or a common value is a back-reference (about
 * 300 bytes less per session). Part of the stored format: records sealed
 * with it open only with it, so it must never change; a different one
 * needs a new format version (handleSealing.ts).
 */
export const RECORD_DICTIONARY: Buffer = (() => {
  const bytes = encodeRecord({
    sub: ID,
    sid: ID,
    refreshToken: [
      segment({ alg: 'HS512', typ: 'JWT', kid: ID }),
      segment({
        ...CLAIMS,
        typ: 'Refresh',
        scope: 'openid web-origins acr roles profile basic email',
      }),
      'AA',
    ].join('.'),
    accessToken: [
      segment({ alg: 'RS256', typ: 'JWT', kid: KID }),
      segment({
        ...CLAIMS,
        'allowed-origins': ['http://localhost:3000'],
        realm_access: {
          roles: [
            'offline_access',
            'default-roles-backstage',
            'uma_authorization',
          ],
        },
        resource_access: {
          account: {
            roles: ['manage-account', 'manage-account-links', 'view-profile'],
          },
        },
        scope: 'openid profile email',
        ...PROFILE,
      }),
      'AA',
    ].join('.'),
    idToken: [
      segment({ alg: 'RS256', typ: 'JWT', kid: KID }),
      segment({
        ...CLAIMS,
        typ: 'ID',
        aud: 'backstage',
        nonce: KID,
        at_hash: 'A'.repeat(22),
        ...PROFILE,
      }),
      'AA',
    ].join('.'),
    tokenType: 'Bearer',
    scope: 'openid profile email',
    accessTokenExpiresAt: 1765000300000,
    refreshTokenExpiresAt: 1765001800000,
    createdAt: 1765000000000,
    refreshedAt: 1765000000000,
    issuer: CLAIMS.iss,
    clientId: 'backstage',
    profile: PROFILE,
  });
  // the JSON, without the length before it and the signatures after it
  return bytes.subarray(4, 4 + bytes.readUInt32BE(0));
})();
