import { hkdfSync } from 'node:crypto';
import {
  openBytes,
  openParts,
  sealBytes,
  sealParts,
  type OpenResult,
  type RecordCipherKey,
} from './RecordCipher';

const VERSION = 'v2';
const SALT = 'backstage keycloak-oidc session record';
const INFO = 'aes-256-gcm v2';

/**
 * The record key of one session: HKDF-SHA256 of the 256 random bits in its
 * handle. The server stores only a hash of the handle, so neither a Redis
 * dump nor the backend's config (nor both) opens a record; only the
 * browser's cookie does. With a server key (`encryption.keys`) as the HKDF
 * salt, a record also needs that key to be made: whoever can write to
 * Redis cannot plant a session of their own.
 */
function keyOf(
  handle: string,
  serverKey?: Buffer,
  info: string = INFO,
): Buffer {
  const secret = Buffer.from(
    handle.slice(handle.indexOf('.') + 1),
    'base64url',
  );
  return Buffer.from(hkdfSync('sha256', secret, serverKey ?? SALT, info, 32));
}

/** The binary format's first byte, which no text format starts with */
const BINARY_VERSION = 3;
const BINARY_INFO = 'aes-256-gcm v3';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/**
 * zlib for the binary format: a 4 KiB window and output chunks (records
 * are a few KiB). zlib's native memory counts as V8 external memory: the
 * defaults (a 32 KiB window, memLevel 8, 16 KiB chunks, ~300 KiB per
 * deflate) made the collector run a full mark-compact every ~100 ms under
 * load, which was the store's whole p99.
 */
const ZLIB = { windowBits: 12, memLevel: 5, chunkSize: 4096 } as const;

/** How a binary value is deflated before sealing. */
export interface BinaryCompression {
  /** deflate's preset dictionary; the opener needs the same one */
  dictionary?: Buffer;
  /** false: stored as is (small values, where deflate saves nothing) */
  deflate?: boolean;
}

function zlibOf({ dictionary, deflate = true }: BinaryCompression) {
  return deflate ? { ...ZLIB, ...(dictionary && { dictionary }) } : false;
}

/**
 * Seals a session's token set as bytes, bound to the Redis key it is
 * stored under: `[3][key id length][server key id][iv][tag][ciphertext]`
 * (key id length 0 when sealed by the handle alone). A third smaller than
 * the `v2.` text format, whose base64url parts cost 4 bytes per 3. It
 * opens only with the `compression` it was sealed with.
 */
export function sealBinaryForHandle(
  handle: string,
  plaintext: Buffer,
  associatedData: string,
  { serverKeys }: HandleSealing = {},
  compression: BinaryCompression = {},
): Buffer {
  const server = serverKeys?.[0];
  const keyId = Buffer.from(server?.id ?? '', 'utf8');
  const { iv, ciphertext, tag } = sealBytes(
    keyOf(handle, server?.key, BINARY_INFO),
    plaintext,
    associatedData,
    zlibOf(compression),
  );
  return Buffer.concat([
    Buffer.from([BINARY_VERSION, keyId.length]),
    keyId,
    iv,
    tag,
    ciphertext,
  ]);
}

/** Whether a stored value was sealed by `sealBinaryForHandle`. */
export function isBinarySealed(sealed: Buffer): boolean {
  return sealed.length > 0 && sealed[0] === BINARY_VERSION;
}

/**
 * Opens what `sealBinaryForHandle` made; with server keys configured, only
 * a value sealed with one of them (as `openForHandle`).
 */
export function openBinaryForHandle(
  handle: string,
  sealed: Buffer,
  associatedData: string,
  { serverKeys }: HandleSealing = {},
  compression: BinaryCompression = {},
): { plaintext: Buffer } | { failure: 'unknown-key' | 'corrupt' } {
  if (!isBinarySealed(sealed) || sealed.length < 2) {
    return { failure: 'corrupt' };
  }
  const ivAt = 2 + sealed[1];
  const tagAt = ivAt + IV_BYTES;
  const ciphertextAt = tagAt + TAG_BYTES;
  if (sealed.length <= ciphertextAt) {
    return { failure: 'corrupt' };
  }
  const keyId = sealed.subarray(2, ivAt).toString('utf8');
  let key: Buffer | undefined;
  if (keyId === '') {
    key = serverKeys?.length
      ? undefined
      : keyOf(handle, undefined, BINARY_INFO);
  } else {
    const server = serverKeys?.find(k => k.id === keyId);
    key = server && keyOf(handle, server.key, BINARY_INFO);
  }
  if (!key) {
    return { failure: 'unknown-key' };
  }
  return openBytes(
    key,
    {
      iv: sealed.subarray(ivAt, tagAt),
      tag: sealed.subarray(tagAt, ciphertextAt),
      ciphertext: sealed.subarray(ciphertextAt),
    },
    associatedData,
    zlibOf(compression),
  );
}

/** How records are sealed: by the handle alone, or with server keys too. */
export interface HandleSealing {
  /** the first seals, every one opens; none: the handle alone */
  serverKeys?: RecordCipherKey[];
}

/**
 * Seals a session's token set, bound to the Redis key it is stored under:
 * `v2.<iv>.<ciphertext>.<tag>`, or `v2.<server key id>.<iv>.<ciphertext>.<tag>`.
 */
export function sealForHandle(
  handle: string,
  plaintext: string,
  associatedData: string,
  { serverKeys }: HandleSealing = {},
): string {
  const server = serverKeys?.[0];
  const parts = sealParts(
    keyOf(handle, server?.key),
    plaintext,
    associatedData,
  );
  return server ? `${VERSION}.${server.id}.${parts}` : `${VERSION}.${parts}`;
}

/** Whether a stored value was sealed by `sealForHandle`. */
export function isSealedForHandle(sealed: string): boolean {
  return sealed.startsWith(`${VERSION}.`);
}

/**
 * Opens what `sealForHandle` made. With server keys configured, only a
 * value sealed with one of them opens: one sealed by the handle alone could
 * have been written by anyone with access to Redis.
 */
export function openForHandle(
  handle: string,
  sealed: string,
  associatedData: string,
  { serverKeys }: HandleSealing = {},
): OpenResult {
  const parts = sealed.split('.');
  if (parts[0] !== VERSION || (parts.length !== 4 && parts.length !== 5)) {
    return { failure: 'corrupt' };
  }
  const body = parts.slice(-3).join('.');
  if (parts.length === 4) {
    return serverKeys?.length
      ? { failure: 'unknown-key' }
      : openParts(keyOf(handle), body, associatedData);
  }
  const server = serverKeys?.find(key => key.id === parts[1]);
  return server
    ? openParts(keyOf(handle, server.key), body, associatedData)
    : { failure: 'unknown-key' };
}
