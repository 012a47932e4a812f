import { InputError } from '@backstage/errors';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync, type ZlibOptions } from 'node:zlib';
import type { RecordSealer } from './RecordSealer';

const ALGORITHM = 'aes-256-gcm';
const VERSION = 'v1';
const KEY_BYTES = 32;
// 96-bit IVs are GCM's native size; random per seal, so no counter state
// has to be shared between replicas.
const IV_BYTES = 12;
const TAG_BYTES = 16;
// Key ids end up inside the dot-separated sealed string and in logs.
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]*$/;
// Records are a few KB; anything bigger did not come from seal().
const MAX_PLAINTEXT_BYTES = 1024 * 1024;

export interface RecordCipherKey {
  /** Stored in every sealed value, so a value names the key that opens it. */
  id: string;
  /** 32 random bytes (AES-256). */
  key: Buffer;
}

export type OpenResult =
  { plaintext: string } | { failure: 'unknown-key' | 'corrupt' };

/**
 * Only canonical base64url decodes: Buffer silently skips junk, and a value
 * that decodes to the same bytes from two spellings is not what we wrote.
 */
function decodeBase64url(segment: string): Buffer | undefined {
  if (!BASE64URL_PATTERN.test(segment)) {
    return undefined;
  }
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : undefined;
}

/**
 * Seals session records for storage at rest with AES-256-GCM, bound to the
 * Redis key they are stored under (as associated data), so a record copied
 * to another key does not open there.
 *
 * Sealed format: `v1.<keyId>.<iv>.<ciphertext>.<tag>`, each binary part
 * base64url without padding. The plaintext is deflated before encryption:
 * Keycloak's three JWTs share most of their claims, so a record shrinks by
 * about 45% (3.7 KB of JSON to 2 KB), which is most of a session's memory
 * in Redis. Nothing an attacker controls is compressed with the tokens, so
 * the ciphertext length reveals nothing useful about them.
 *
 * The first key seals; every key opens, so keys rotate without logging
 * everyone out: prepend a new key, deploy, and remove the old one once the
 * records it sealed have expired.
 */
export class RecordCipher implements RecordSealer {
  readonly #encryptingKeyId: string;
  readonly #keys: ReadonlyMap<string, Buffer>;

  constructor(options: { keys: RecordCipherKey[] }) {
    const { keys } = options;
    if (keys.length === 0) {
      throw new InputError('RecordCipher needs at least one key');
    }
    const byId = new Map<string, Buffer>();
    keys.forEach(({ id, key }, i) => {
      if (!KEY_ID_PATTERN.test(id)) {
        throw new InputError(
          `RecordCipher key ${i}: id '${id}' may only contain A-Z, a-z, 0-9, '_' and '-'`,
        );
      }
      if (byId.has(id)) {
        throw new InputError(`RecordCipher key ${i}: duplicate id '${id}'`);
      }
      if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
        throw new InputError(
          `RecordCipher key ${i} ('${id}'): must be ${KEY_BYTES} bytes`,
        );
      }
      // A copy: the caller's buffer may be reused or zeroed later.
      byId.set(id, Buffer.from(key));
    });
    this.#encryptingKeyId = keys[0].id;
    this.#keys = byId;
  }

  get encryptingKeyId(): string {
    return this.#encryptingKeyId;
  }

  /** `associatedData`: the Redis key the sealed value is stored under. */
  seal(plaintext: string, associatedData: string): string {
    return [
      VERSION,
      this.#encryptingKeyId,
      sealParts(
        this.#keys.get(this.#encryptingKeyId)!,
        plaintext,
        associatedData,
      ),
    ].join('.');
  }

  /**
   * Never throws: whatever is wrong with a stored value, the caller treats
   * it as a missing session. `unknown-key` means it was sealed under a key
   * no longer configured; `corrupt` covers everything else (malformed,
   * tampered, or stored under a different Redis key).
   */
  open(sealed: string, associatedData: string): OpenResult {
    if (typeof sealed !== 'string') {
      return { failure: 'corrupt' };
    }
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) {
      return { failure: 'corrupt' };
    }
    const [, keyId, ...sealedParts] = parts;
    if (!KEY_ID_PATTERN.test(keyId)) {
      return { failure: 'corrupt' };
    }
    const key = this.#keys.get(keyId);
    if (!key) {
      return { failure: 'unknown-key' };
    }
    return openParts(key, sealedParts.join('.'), associatedData);
  }
}

/** The three binary parts of a sealed value. */
export interface SealedBytes {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/**
 * AES-256-GCM over the deflated plaintext with `associatedData`; deflated
 * with the given zlib options (a preset dictionary, a smaller window), which
 * the opener needs too; `false`: not deflated.
 */
export function sealBytes(
  key: Buffer,
  plaintext: Buffer,
  associatedData: string,
  zlib?:
    | Pick<ZlibOptions, 'dictionary' | 'windowBits' | 'memLevel' | 'chunkSize'>
    | false,
): SealedBytes {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ciphertext = Buffer.concat([
    cipher.update(zlib === false ? plaintext : deflateRawSync(plaintext, zlib)),
    cipher.final(),
  ]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

/**
 * Opens what `sealBytes` made. Never throws: whatever is wrong (malformed,
 * tampered, another key or associated data), it is `corrupt`.
 */
export function openBytes(
  key: Buffer,
  { iv, ciphertext, tag }: SealedBytes,
  associatedData: string,
  zlib?: Pick<ZlibOptions, 'dictionary' | 'windowBits' | 'chunkSize'> | false,
): { plaintext: Buffer } | { failure: 'corrupt' } {
  try {
    if (
      typeof associatedData !== 'string' ||
      iv.length !== IV_BYTES ||
      tag.length !== TAG_BYTES
    ) {
      return { failure: 'corrupt' };
    }
    const decipher = createDecipheriv(ALGORITHM, key, iv, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(tag);
    const compressed = Buffer.concat([
      decipher.update(ciphertext),
      decipher.final(), // throws when the tag does not verify
    ]);
    return {
      plaintext:
        zlib === false
          ? compressed
          : inflateRawSync(compressed, {
              maxOutputLength: MAX_PLAINTEXT_BYTES,
              ...zlib,
            }),
    };
  } catch {
    return { failure: 'corrupt' };
  }
}

/** `sealBytes` as `<iv>.<ciphertext>.<tag>`, each base64url without padding. */
export function sealParts(
  key: Buffer,
  plaintext: string,
  associatedData: string,
): string {
  const { iv, ciphertext, tag } = sealBytes(
    key,
    Buffer.from(plaintext, 'utf8'),
    associatedData,
  );
  return [iv, ciphertext, tag].map(b => b.toString('base64url')).join('.');
}

/** Opens what `sealParts` made. Never throws. */
export function openParts(
  key: Buffer,
  sealed: string,
  associatedData: string,
): OpenResult {
  const parts = typeof sealed === 'string' ? sealed.split('.') : [];
  if (parts.length !== 3) {
    return { failure: 'corrupt' };
  }
  const [iv, ciphertext, tag] = parts.map(decodeBase64url);
  if (!iv || !ciphertext || !tag) {
    return { failure: 'corrupt' };
  }
  const opened = openBytes(key, { iv, ciphertext, tag }, associatedData);
  return 'plaintext' in opened
    ? { plaintext: opened.plaintext.toString('utf8') }
    : opened;
}
