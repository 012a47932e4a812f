import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * An `auth.keyStore` of one ES256 key pair in files under `dir`, for
 * replicas that must accept each other's Backstage tokens without a shared
 * database (the default key store lives in each process's own SQLite).
 */
export function staticKeyStoreConfig(dir: string) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
  });
  const publicKeyFile = join(dir, 'backstage-token-signing.pub.pem');
  const privateKeyFile = join(dir, 'backstage-token-signing.pem');
  writeFileSync(
    publicKeyFile,
    publicKey.export({ type: 'spki', format: 'pem' }),
  );
  writeFileSync(
    privateKeyFile,
    privateKey.export({ type: 'pkcs8', format: 'pem' }),
  );
  return {
    provider: 'static',
    static: {
      keys: [
        {
          keyId: randomUUID(),
          algorithm: 'ES256',
          publicKeyFile,
          privateKeyFile,
        },
      ],
    },
  };
}
