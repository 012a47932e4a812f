import { createDecipheriv } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';

/**
 * Opens a session hash's sealed `record` field the way an operator holding
 * the key could, from the at-rest format alone, without the module's code
 * (README "Data in Redis": `v1.<key id>.…`; RecordCipher documents the
 * rest): `v1.<key id>.<iv>.<ciphertext>.<tag>`, base64url parts, AES-256-GCM
 * over the deflated JSON token set, with the Redis key the value is stored
 * under as associated data. Throws when the value is not that, was sealed
 * under another key, or belongs to another Redis key.
 */
export function openSealedRecord(
  sealed: string,
  redisKey: string,
  key: { id: string; secret: string },
): Record<string, string> {
  const [version, keyId, iv, ciphertext, tag, ...rest] = sealed.split('.');
  if (version !== 'v1' || keyId !== key.id || rest.length > 0 || !tag) {
    throw new Error(`not a v1 record sealed under '${key.id}': ${sealed}`);
  }
  const decipher = createDecipheriv(
    'aes-256-gcm',
    Buffer.from(key.secret, 'base64'),
    Buffer.from(iv, 'base64url'),
    { authTagLength: 16 },
  );
  decipher.setAAD(Buffer.from(redisKey, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const deflated = Buffer.concat([
    decipher.update(Buffer.from(ciphertext, 'base64url')),
    decipher.final(),
  ]);
  return JSON.parse(inflateRawSync(deflated).toString('utf8'));
}
