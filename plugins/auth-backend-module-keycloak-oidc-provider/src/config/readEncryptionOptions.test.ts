import { ConfigReader } from '@backstage/config';
import { InputError } from '@backstage/errors';
import type { JsonValue } from '@backstage/types';
import { randomBytes } from 'node:crypto';
import { readEncryptionOptions } from './readEncryptionOptions';

const read = (encryption: JsonValue) =>
  readEncryptionOptions(
    new ConfigReader({ auth: { session: { encryption } } }),
  );

const bytes = randomBytes(32);
const BASE64 = bytes.toString('base64');
const HEX = bytes.toString('hex');
const SECRET_MESSAGE =
  'must be 32 random bytes as base64 (openssl rand -base64 32) or 64 hex characters';

/** The message of the InputError that reading `encryption` throws. */
function rejectionOf(encryption: JsonValue): string {
  let caught: unknown;
  try {
    read(encryption);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InputError);
  return (caught as InputError).message;
}

describe('readEncryptionOptions', () => {
  it('is undefined without auth.session.encryption', () => {
    expect(readEncryptionOptions(new ConfigReader({}))).toBeUndefined();
    expect(
      readEncryptionOptions(
        new ConfigReader({ auth: { session: { store: 'memory' } } }),
      ),
    ).toBeUndefined();
  });

  it('reads a base64 secret (openssl rand -base64 32)', () => {
    expect(BASE64).toHaveLength(44);
    expect(read({ keys: [{ id: 'k1', secret: BASE64 }] })).toEqual({
      keys: [{ id: 'k1', key: bytes }],
    });
  });

  it('reads a hex secret, in either case', () => {
    expect(read({ keys: [{ id: 'k1', secret: HEX }] })).toEqual({
      keys: [{ id: 'k1', key: bytes }],
    });
    expect(read({ keys: [{ id: 'k1', secret: HEX.toUpperCase() }] })).toEqual({
      keys: [{ id: 'k1', key: bytes }],
    });
  });

  it('ignores a trailing newline from a secret file or env var', () => {
    expect(read({ keys: [{ id: 'k1', secret: `${BASE64}\n` }] })).toEqual({
      keys: [{ id: 'k1', key: bytes }],
    });
  });

  it('keeps the order: the first key encrypts', () => {
    const other = randomBytes(32);
    const options = read({
      keys: [
        { id: 'new', secret: other.toString('hex') },
        { id: 'old', secret: BASE64 },
      ],
    });
    expect(options?.keys.map(k => k.id)).toEqual(['new', 'old']);
    expect(options?.keys[0].key.equals(other)).toBe(true);
  });

  it.each([
    ['missing keys', {}],
    ['an empty list', { keys: [] }],
    ['a string', { keys: 'k1' }],
  ])('rejects %s', (_, encryption) => {
    const message = rejectionOf(encryption);
    expect(message).toMatch(
      /^Invalid config at 'auth\.session\.encryption\.keys': must list/,
    );
    expect(message).toContain('at least one key');
  });

  it('rejects a list entry that is not an object', () => {
    const message = rejectionOf({ keys: [BASE64] });
    expect(message).toBe(
      "Invalid config at 'auth.session.encryption.keys[0]': must be an object { id, secret }",
    );
    expect(message).not.toContain(BASE64);
  });

  const invalidSecrets: [string, string][] = [
    ['16 bytes of base64', randomBytes(16).toString('base64')],
    ['33 bytes of base64', randomBytes(33).toString('base64')],
    ['base64 without padding', BASE64.slice(0, 43)],
    ['base64url', randomBytes(32).toString('base64url')],
    ['63 hex characters', HEX.slice(0, 63)],
    ['65 hex characters', `${HEX}a`],
    ['32 bytes of hex', randomBytes(16).toString('hex')],
    ['a passphrase', 'correct horse battery staple, but longer than 44'],
    ['a 32-character password', 'p4ssw0rd-p4ssw0rd-p4ssw0rd-p4ssw'],
    ['non-canonical base64', `${BASE64.slice(0, 42)}B=`],
  ];

  it.each(invalidSecrets)('rejects %s, naming the key', (_, secret) => {
    const message = rejectionOf({
      keys: [
        { id: 'ok', secret: HEX },
        { id: 'bad', secret },
      ],
    });
    expect(message).toBe(
      `Invalid config at 'auth.session.encryption.keys[1].secret': ${SECRET_MESSAGE}`,
    );
    expect(message).not.toContain(secret);
    expect(message).not.toContain(secret.slice(0, 12));
    expect(message).not.toContain(HEX.slice(0, 12));
  });

  it.each([
    ['missing', undefined],
    ['a number', 1234],
    ['empty', ''],
  ])('rejects a secret that is %s', (_, secret) => {
    expect(
      rejectionOf({
        keys: [{ id: 'k1', ...(secret === undefined ? {} : { secret }) }],
      }),
    ).toBe(
      `Invalid config at 'auth.session.encryption.keys[0].secret': ${SECRET_MESSAGE}`,
    );
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['dotted', 'key.1'],
    ['spaced', 'key 1'],
    ['a number', 7],
  ])('rejects an id that is %s, without showing the secret', (_, id) => {
    const message = rejectionOf({
      keys: [{ ...(id === undefined ? {} : { id }), secret: BASE64 }],
    });
    expect(message).toMatch(
      /^Invalid config at 'auth\.session\.encryption\.keys\[0\]\.id': must be/,
    );
    expect(message).not.toContain(BASE64.slice(0, 12));
  });

  it('rejects duplicate ids, naming both', () => {
    const third = randomBytes(32).toString('hex');
    const message = rejectionOf({
      keys: [
        { id: 'a', secret: BASE64 },
        { id: 'b', secret: HEX },
        { id: 'a', secret: third },
      ],
    });
    expect(message).toBe(
      "Invalid config at 'auth.session.encryption.keys[2].id': 'a' duplicates auth.session.encryption.keys[0].id; every key needs its own id",
    );
  });
});
