// @ts-check
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * The realm's signing key. Kept in `keysFile` when given, so a restart keeps
 * the same key as a Keycloak realm does (its keys live in the database),
 * while sessions are lost.
 *
 * @param {string | undefined} keysFile
 * @returns {{ keys: object[] }}
 */
export function loadOrCreateJwks(keysFile) {
  if (keysFile && existsSync(keysFile)) {
    return JSON.parse(readFileSync(keysFile, 'utf8'));
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = {
    ...privateKey.export({ format: 'jwk' }),
    kid: randomUUID(),
    alg: 'RS256',
    use: 'sig',
  };
  const jwks = { keys: [jwk] };
  if (keysFile) {
    writeFileSync(keysFile, JSON.stringify(jwks), { mode: 0o600 });
  }
  return jwks;
}
