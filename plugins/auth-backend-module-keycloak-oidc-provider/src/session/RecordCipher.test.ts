import { randomBytes } from 'node:crypto';
import { RecordCipher } from './RecordCipher';

const AAD = 'backstage:session:{u:abc}:s:xyz';
const PLAINTEXT = JSON.stringify({
  refreshToken: 'refresh-token-secret-value',
  accessToken: 'access-token-secret-value',
});

const key = (id: string) => ({ id, key: randomBytes(32) });

/** Replaces one dot-separated part of a sealed value. */
function withPart(sealed: string, index: number, part: string): string {
  const parts = sealed.split('.');
  parts[index] = part;
  return parts.join('.');
}

/** Flips the lowest bit of the first byte of a base64url part. */
function flipped(part: string): string {
  const bytes = Buffer.from(part, 'base64url');
  bytes[0] ^= 1;
  return bytes.toString('base64url');
}

describe('RecordCipher', () => {
  const cipher = new RecordCipher({ keys: [key('k1')] });

  it('round-trips', () => {
    const sealed = cipher.seal(PLAINTEXT, AAD);
    expect(cipher.open(sealed, AAD)).toEqual({ plaintext: PLAINTEXT });
  });

  it('round-trips empty and non-ASCII text', () => {
    for (const text of ['', 'Zoë 🔑 ü', 'x'.repeat(100_000)]) {
      expect(cipher.open(cipher.seal(text, AAD), AAD)).toEqual({
        plaintext: text,
      });
    }
  });

  it('produces the v1 compact format', () => {
    const sealed = cipher.seal(PLAINTEXT, AAD);
    expect(sealed).toMatch(
      /^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/,
    );
    const [, , iv, , tag] = sealed.split('.');
    expect(Buffer.from(iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag, 'base64url')).toHaveLength(16);
  });

  it('compresses: three JWTs sharing their claims seal smaller than their JSON', () => {
    const compressing = new RecordCipher({ keys: [key('k1')] });
    const claims = Buffer.from(
      JSON.stringify({
        iss: 'https://keycloak.example.com/realms/backstage',
        sub: '5b0d5c52-3a2e-4f4c-9c1e-0a11ce000001',
        azp: 'backstage',
        realm_access: { roles: ['default-roles-backstage', 'offline_access'] },
        email: 'alice@example.com',
        preferred_username: 'alice',
      }),
    ).toString('base64url');
    const jwt = () =>
      `eyJhbGciOiJSUzI1NiJ9.${claims}.${randomBytes(256).toString('base64url')}`;
    const record = JSON.stringify({
      accessToken: jwt(),
      idToken: jwt(),
      refreshToken: jwt(),
    });
    const sealed = compressing.seal(record, AAD);
    expect(sealed.length).toBeLessThan(record.length);
    expect(compressing.open(sealed, AAD)).toEqual({ plaintext: record });
  });

  it('uses a fresh IV for every seal', () => {
    const a = cipher.seal(PLAINTEXT, AAD);
    const b = cipher.seal(PLAINTEXT, AAD);
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
  });

  it('never shows the plaintext in the sealed value', () => {
    const sealed = cipher.seal(PLAINTEXT, AAD);
    expect(sealed).not.toContain('refresh-token-secret-value');
    expect(sealed).not.toContain(
      Buffer.from(PLAINTEXT).toString('base64url').slice(0, 20),
    );
  });

  it('does not open under other associated data', () => {
    const sealed = cipher.seal(PLAINTEXT, AAD);
    expect(cipher.open(sealed, `${AAD}2`)).toEqual({ failure: 'corrupt' });
    expect(cipher.open(sealed, '')).toEqual({ failure: 'corrupt' });
  });

  it('detects a tampered tag, ciphertext or IV', () => {
    const sealed = cipher.seal(PLAINTEXT, AAD);
    for (const index of [2, 3, 4]) {
      const tampered = withPart(
        sealed,
        index,
        flipped(sealed.split('.')[index]),
      );
      expect(cipher.open(tampered, AAD)).toEqual({ failure: 'corrupt' });
    }
  });

  it('rejects a truncated tag or ciphertext', () => {
    const sealed = cipher.seal(PLAINTEXT, AAD);
    const [, , , ciphertext, tag] = sealed.split('.');
    const shortTag = Buffer.from(tag, 'base64url')
      .subarray(0, 12)
      .toString('base64url');
    expect(cipher.open(withPart(sealed, 4, shortTag), AAD)).toEqual({
      failure: 'corrupt',
    });
    expect(
      cipher.open(withPart(sealed, 3, ciphertext.slice(0, 8)), AAD),
    ).toEqual({ failure: 'corrupt' });
  });

  it('reports a record sealed under an unknown key', () => {
    const other = new RecordCipher({ keys: [key('k2')] });
    expect(other.open(cipher.seal(PLAINTEXT, AAD), AAD)).toEqual({
      failure: 'unknown-key',
    });
  });

  it('treats a key id swapped for another configured key as corrupt', () => {
    const both = new RecordCipher({ keys: [key('k2'), key('k3')] });
    const sealed = both.seal(PLAINTEXT, AAD);
    expect(both.open(withPart(sealed, 1, 'k3'), AAD)).toEqual({
      failure: 'corrupt',
    });
  });

  it('rotates: old records still open, new ones use the new key', () => {
    const oldKey = key('2024');
    const newKey = key('2025');
    const before = new RecordCipher({ keys: [oldKey] });
    const sealedBefore = before.seal(PLAINTEXT, AAD);

    const after = new RecordCipher({ keys: [newKey, oldKey] });
    expect(after.encryptingKeyId).toBe('2025');
    expect(after.open(sealedBefore, AAD)).toEqual({ plaintext: PLAINTEXT });
    const sealedAfter = after.seal(PLAINTEXT, AAD);
    expect(sealedAfter.startsWith('v1.2025.')).toBe(true);
    expect(after.open(sealedAfter, AAD)).toEqual({ plaintext: PLAINTEXT });

    // once the old key is removed, its records are unreadable
    const later = new RecordCipher({ keys: [newKey] });
    expect(later.open(sealedBefore, AAD)).toEqual({ failure: 'unknown-key' });
    expect(later.open(sealedAfter, AAD)).toEqual({ plaintext: PLAINTEXT });
  });

  it.each([
    '',
    'not sealed',
    PLAINTEXT,
    'v1',
    'v1.k1',
    'v1.k1...',
    'v1.k1.a.b.c',
    'v1.k1.a.b.c.d',
    'v2.k1.AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA',
    'v1.k 1.AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA',
    'v1.k1.AAAAAAAAAAAAAAAA.A$.AAAAAAAAAAAAAAAAAAAAAA',
    'v1.k1.AAAAAAAAAAAAAAAA=.AA.AAAAAAAAAAAAAAAAAAAAAA',
    'v1.k1.AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA',
  ])('treats %j as corrupt', garbage => {
    expect(cipher.open(garbage, AAD)).toEqual({ failure: 'corrupt' });
  });

  it('does not throw on values of the wrong type', () => {
    expect(cipher.open(undefined as unknown as string, AAD)).toEqual({
      failure: 'corrupt',
    });
    expect(cipher.open(42 as unknown as string, AAD)).toEqual({
      failure: 'corrupt',
    });
  });

  it('copies its keys', () => {
    const k = key('k');
    const own = new RecordCipher({ keys: [k] });
    const sealed = own.seal(PLAINTEXT, AAD);
    k.key.fill(0);
    expect(own.open(sealed, AAD)).toEqual({ plaintext: PLAINTEXT });
  });

  describe('constructor', () => {
    it('rejects an empty key list', () => {
      expect(() => new RecordCipher({ keys: [] })).toThrow(/at least one key/);
    });

    it('rejects duplicate ids', () => {
      expect(() => new RecordCipher({ keys: [key('a'), key('a')] })).toThrow(
        /duplicate id 'a'/,
      );
    });

    it.each(['', 'a.b', 'a b', 'ä', 'a/b'])('rejects the id %j', id => {
      expect(() => new RecordCipher({ keys: [key(id)] })).toThrow(
        /may only contain/,
      );
    });

    it.each([0, 16, 31, 33, 64])('rejects a %i-byte key', length => {
      expect(
        () =>
          new RecordCipher({ keys: [{ id: 'k', key: randomBytes(length) }] }),
      ).toThrow(/must be 32 bytes/);
    });
  });
});
