import { createHash, randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { sampleRecord } from '../__testUtils__/sessionStoreContract';
import { decodeRecord, encodeRecord, RECORD_DICTIONARY } from './recordBytes';

const segment = (value: object) =>
  Buffer.from(JSON.stringify(value)).toString('base64url');
const claims = {
  iss: 'https://keycloak.example.com/realms/backstage',
  sub: '6c1e6d63-4b3f-4a5d-8d2f-0b0b00000002',
  sid: '0b8a1c52-7a4e-4b7e-9c1f-3d2e5f6a7b8c',
  azp: 'backstage',
  acr: '1',
  email_verified: true,
  name: 'Alice Example',
  preferred_username: 'alice',
  given_name: 'Alice',
  family_name: 'Example',
  email: 'alice@example.com',
};
const roles = {
  'allowed-origins': ['http://localhost:3000'],
  realm_access: {
    roles: ['offline_access', 'default-roles-backstage', 'uma_authorization'],
  },
  resource_access: {
    account: {
      roles: ['manage-account', 'manage-account-links', 'view-profile'],
    },
  },
};
/** A JWT shaped like Keycloak's: RS256-sized signature, shared claims */
const jwt = (extra: object, signatureBytes = 256) =>
  [
    segment({ alg: 'RS256', typ: 'JWT', kid: 'k1' }),
    segment({ ...claims, ...extra, iat: 1765000000, exp: 1765000300 }),
    randomBytes(signatureBytes).toString('base64url'),
  ].join('.');

describe('encodeRecord / decodeRecord', () => {
  const record = {
    ...sampleRecord(),
    accessToken: jwt({
      typ: 'Bearer',
      aud: 'account',
      scope: 'openid profile email',
      ...roles,
    }),
    refreshToken: jwt({ typ: 'Refresh' }, 64),
    idToken: jwt({ typ: 'ID', nonce: 'n-1' }),
  };

  it('gives back the exact tokens', () => {
    expect(decodeRecord(encodeRecord(record))).toEqual(record);
  });

  it("deflates to less than the JSON of the tokens as text (Keycloak's claims repeat)", () => {
    const asText = deflateRawSync(JSON.stringify(record)).length;
    const asBytes = deflateRawSync(encodeRecord(record)).length;
    expect(asBytes / asText).toBeLessThan(0.92);
  });

  it('keeps as text what is not a JWT, or would not re-encode to the same text', () => {
    const odd = {
      ...record,
      // opaque, as some IdPs' refresh tokens are
      refreshToken: randomBytes(40).toString('hex'),
      // non-canonical base64url: the last character carries unused bits
      accessToken: `${record.accessToken.slice(0, -1)}${
        record.accessToken.endsWith('A') ? 'B' : 'A'
      }`.replace(/\.[^.]*$/, '.YQ'),
      idToken: undefined,
    };
    expect(decodeRecord(encodeRecord(odd))).toEqual(odd);
  });

  it('refuses bytes it did not make', () => {
    expect(decodeRecord(Buffer.from('{}'))).toBeUndefined();
    const bytes = encodeRecord(record);
    expect(decodeRecord(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    expect(
      decodeRecord(Buffer.concat([bytes, Buffer.from([0])])),
    ).toBeUndefined();
  });

  it('deflates smaller still with the preset dictionary, which never changes', () => {
    const bytes = encodeRecord(record);
    const plain = deflateRawSync(bytes).length;
    const withDictionary = deflateRawSync(bytes, {
      dictionary: RECORD_DICTIONARY,
    }).length;
    expect(plain - withDictionary).toBeGreaterThan(150);
    // stored records open only with this dictionary: another one needs a
    // new format version
    expect(createHash('sha256').update(RECORD_DICTIONARY).digest('hex')).toBe(
      '7cd03b4f632909dd7e8715161d18e64e0fbf233aac52f4e44a9da1a93b9a4d63',
    );
  });
});
