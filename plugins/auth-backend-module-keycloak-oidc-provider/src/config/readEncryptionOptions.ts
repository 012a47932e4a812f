import type { Config } from '@backstage/config';
import { InvalidConfigError } from './InvalidConfigError';
import type { RecordCipherKey } from '../session/RecordCipher';

export interface EncryptionOptions {
  /** The first key seals; every key opens. */
  keys: RecordCipherKey[];
}

const PATH = 'auth.session.encryption.keys';
const KEY_BYTES = 32;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
// `openssl rand -base64 32` (44 chars, one '=') or `openssl rand -hex 32`.
const BASE64_PATTERN = /^[A-Za-z0-9+/]{43}=$/;
const HEX_PATTERN = /^[0-9a-fA-F]{64}$/;

/**
 * Decodes a secret, or undefined when it is not exactly 32 bytes in one of
 * the accepted spellings. Surrounding whitespace is dropped because secrets
 * injected from files or env vars often carry a trailing newline.
 */
function decodeSecret(secret: string): Buffer | undefined {
  const trimmed = secret.trim();
  if (HEX_PATTERN.test(trimmed)) {
    return Buffer.from(trimmed, 'hex');
  }
  if (BASE64_PATTERN.test(trimmed)) {
    const bytes = Buffer.from(trimmed, 'base64');
    // Non-canonical final characters would decode silently to other bits.
    if (bytes.length === KEY_BYTES && bytes.toString('base64') === trimmed) {
      return bytes;
    }
  }
  return undefined;
}

/**
 * Reads `auth.session.encryption` once, at startup. Messages name the exact
 * key at fault and never contain a secret, since they end up in logs.
 */
export function readEncryptionOptions(
  rootConfig: Config,
): EncryptionOptions | undefined {
  const encryption = rootConfig.getOptionalConfig('auth.session.encryption');
  if (!encryption) {
    return undefined;
  }
  // Raw values are checked here rather than through the typed getters, so
  // every problem is an InputError in the same words.
  const raw = encryption.getOptional('keys');
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new InvalidConfigError(
      PATH,
      'must list at least one key ({ id, secret }), or be removed (token sets are sealed per session without it)',
    );
  }
  raw.forEach((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new InvalidConfigError(
        `${PATH}[${i}]`,
        'must be an object { id, secret }',
      );
    }
  });
  const entries = encryption.getConfigArray('keys');

  const firstIndexOf = new Map<string, number>();
  return {
    keys: entries.map((entry, i) => {
      const id = entry.getOptional('id');
      if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id)) {
        throw new InvalidConfigError(
          `${PATH}[${i}].id`,
          "must be a non-empty string of A-Z, a-z, 0-9, '_' and '-'",
        );
      }
      const first = firstIndexOf.get(id);
      if (first !== undefined) {
        throw new InvalidConfigError(
          `${PATH}[${i}].id`,
          `'${id}' duplicates ${PATH}[${first}].id; every key needs its own id`,
        );
      }
      firstIndexOf.set(id, i);

      const secret = entry.getOptional('secret');
      const key = typeof secret === 'string' ? decodeSecret(secret) : undefined;
      if (!key) {
        throw new InvalidConfigError(
          `${PATH}[${i}].secret`,
          'must be 32 random bytes as base64 (openssl rand -base64 32) or 64 hex characters',
        );
      }
      return { id, key };
    }),
  };
}
