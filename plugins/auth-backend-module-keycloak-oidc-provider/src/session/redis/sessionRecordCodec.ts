import {
  isBinarySealed,
  isSealedForHandle,
  openBinaryForHandle,
  openForHandle,
  sealBinaryForHandle,
  type HandleSealing,
} from '../handleSealing';
import { RecordCipher } from '../RecordCipher';
import { decodeRecord, encodeRecord, RECORD_DICTIONARY } from '../recordBytes';
import { sidKeyId } from '../sessionHandle';
import type { ResolvedIdentity } from '../../signIn/resolvedIdentity';
import type { SessionRecord, StoredSession } from '../types';

/**
 * Hash fields of a session; all but the record's and the identity's chunks
 * (and the legacy `record`) are plain and token-free.
 */
export const SESSION_FIELDS = {
  /**
   * the token set, sealed (AES-256-GCM) under a key only the handle gives,
   * as bytes (see handleSealing.ts), in chunks `k0`, `k1`, … (see
   * `CHUNK_BYTES`)
   */
  recordChunk: 'k',
  /** where earlier versions kept the whole sealed token set, as text */
  record: 'record',
  /** the Backstage entity ref the session signed in as */
  entityRef: 'user',
  /**
   * the resolver's identity (the claims a Backstage token is issued from)
   * and when it was resolved, sealed like the record (whoever can write to
   * Redis must not be able to choose a user's groups), in chunks `i0`, `i1`,
   * …; `i0` empty once forgotten
   */
  identityChunk: 'i',
  /** the access token's expiry (epoch ms), for the fast path */
  accessTokenExpiresAt: 'exp',
  /** sha256 of the Keycloak `sid`, for back-channel logout */
  sid: 'sid',
  /** Keycloak user id */
  sub: 'sub',
  createdAt: 'c',
  refreshedAt: 'r',
  /** the login's user agent (printable ASCII), in chunks `u0` to `u3` */
  userAgentChunk: 'u',
  /** where earlier versions kept the user agent whole */
  userAgent: 'ua',
} as const;

/** The user agent's chunk fields, in order (MAX_USER_AGENT_LENGTH / 64) */
export const USER_AGENT_CHUNKS = ['u0', 'u1', 'u2', 'u3'];

const MAX_USER_AGENT_LENGTH = 256;

type Fields = (string | number | Buffer)[];

/**
 * Binary values are stored as chunks of at most this many bytes: Redis
 * keeps a hash whose values are all this small (`hash-max-listpack-value`,
 * 64 by default) as one compact listpack instead of a hash table, which
 * saves about a fifth of a session's memory. Longer values still work
 * (Redis converts the hash), they only cost more.
 */
export const CHUNK_BYTES = 64;

/** A resolved identity is a few hundred bytes: deflate would save little. */
const IDENTITY_COMPRESSION = { deflate: false };

/** `value` as the fields `<prefix>0`, `<prefix>1`, … */
function chunkFields(prefix: string, value: Buffer): Fields {
  const fields: Fields = [];
  for (let i = 0, at = 0; at < value.length; i++, at += CHUNK_BYTES) {
    fields.push(`${prefix}${i}`, value.subarray(at, at + CHUNK_BYTES));
  }
  return fields;
}

/**
 * The value stored by `chunkFields`: as the scripts return it (joined
 * under the bare prefix, see redisScripts.ts `FOLDED`), or its chunks up
 * to the first missing or empty one (WRITE_SESSION blanks those a shorter
 * value left behind).
 */
function joinChunks(fields: StoredFields, prefix: string): Buffer | undefined {
  const folded = fields[prefix];
  if (folded !== undefined) {
    if (folded.length === 0) return undefined;
    return Buffer.isBuffer(folded) ? folded : Buffer.from(folded, 'latin1');
  }
  const chunks: Buffer[] = [];
  for (let i = 0; ; i++) {
    const chunk = fields[`${prefix}${i}`];
    if (chunk === undefined || chunk.length === 0) break;
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'latin1'));
  }
  return chunks.length ? Buffer.concat(chunks) : undefined;
}

/** A session hash as read: values as Redis holds them (`record` is binary). */
export type StoredFields = Record<string, Buffer | string>;

/**
 * Turns a session record into hash fields and back. The token set is one
 * value (recordBytes.ts) sealed under a key derived from the session's
 * handle (and the first server key, when `encryption.keys` are configured;
 * see handleSealing.ts), with the Redis key as associated data, so a value
 * copied to another key does not open; the fields the scripts and admin
 * queries need are stored beside it in plain, token-free form.
 *
 * Records written in earlier formats are still read: the `v2.` base64url
 * text of the same sealing, sealed under the server keys (`v1.`) or, when
 * no keys are configured, plain JSON. The next refresh seals them the
 * current way. (An earlier build cannot read what this one writes.)
 */
export class SessionRecordCodec {
  readonly #legacy?: RecordCipher;

  constructor(private readonly sealing: HandleSealing = {}) {
    this.#legacy = sealing.serverKeys?.length
      ? new RecordCipher({ keys: sealing.serverKeys })
      : undefined;
  }

  /** Fields written on every change of the token set. */
  tokenFields(
    sessionKey: string,
    handle: string,
    record: SessionRecord,
  ): Fields {
    return [
      ...chunkFields(
        SESSION_FIELDS.recordChunk,
        sealBinaryForHandle(
          handle,
          encodeRecord(record),
          sessionKey,
          this.sealing,
          { dictionary: RECORD_DICTIONARY },
        ),
      ),
      SESSION_FIELDS.accessTokenExpiresAt,
      record.accessTokenExpiresAt ?? 0,
      SESSION_FIELDS.refreshedAt,
      record.refreshedAt,
      ...(record.sid ? [SESSION_FIELDS.sid, sidKeyId(record.sid)] : []),
    ];
  }

  /** Fields of a new session: the token set and what never changes. */
  creationFields(
    sessionKey: string,
    handle: string,
    record: SessionRecord,
    userAgent?: string,
  ): Fields {
    // ASCII, so that 64 characters are 64 bytes
    const ua = userAgent
      ?.slice(0, MAX_USER_AGENT_LENGTH)
      .replace(/[^\x20-\x7e]/g, '?');
    return [
      ...this.tokenFields(sessionKey, handle, record),
      SESSION_FIELDS.sub,
      record.sub,
      SESSION_FIELDS.createdAt,
      record.createdAt,
      ...(ua
        ? chunkFields(SESSION_FIELDS.userAgentChunk, Buffer.from(ua, 'ascii'))
        : []),
    ];
  }

  /**
   * Fields recording a resolved identity, or forgetting it (null): the
   * entity ref in plain for lookups, the identity sealed under the
   * session's key (another associated data than the record's, so neither
   * opens as the other).
   */
  identityFields(
    sessionKey: string,
    handle: string,
    identity: ResolvedIdentity | null,
  ): Fields {
    if (!identity) {
      return [`${SESSION_FIELDS.identityChunk}0`, ''];
    }
    return [
      SESSION_FIELDS.entityRef,
      identity.claims.sub,
      ...chunkFields(
        SESSION_FIELDS.identityChunk,
        sealBinaryForHandle(
          handle,
          Buffer.from(
            JSON.stringify({
              at: identity.resolvedAt,
              claims: identity.claims,
            }),
          ),
          identityAssociatedData(sessionKey),
          this.sealing,
          IDENTITY_COMPRESSION,
        ),
      ),
    ];
  }

  /**
   * A record we cannot read (another handle's, tampered with, or sealed
   * under a server key that was removed) is a missing session: the user
   * signs in again.
   */
  decode(
    sessionKey: string,
    handle: string,
    fields: StoredFields,
  ): StoredSession | undefined {
    const record = this.#open(
      sessionKey,
      handle,
      joinChunks(fields, SESSION_FIELDS.recordChunk) ??
        fields[SESSION_FIELDS.record],
    );
    if (record === undefined) {
      return undefined;
    }
    const entityRef = fields[SESSION_FIELDS.entityRef]?.toString() || undefined;
    const identity = this.#openIdentity(
      sessionKey,
      handle,
      joinChunks(fields, SESSION_FIELDS.identityChunk),
    );
    return { record, entityRef, ...(identity && { identity }) };
  }

  /** A sealed identity that does not open is none: the user is resolved. */
  #openIdentity(
    sessionKey: string,
    handle: string,
    stored: Buffer | undefined,
  ): ResolvedIdentity | undefined {
    if (!stored || !isBinarySealed(stored)) {
      return undefined;
    }
    const opened = openBinaryForHandle(
      handle,
      stored,
      identityAssociatedData(sessionKey),
      this.sealing,
      IDENTITY_COMPRESSION,
    );
    if (!('plaintext' in opened)) {
      return undefined;
    }
    try {
      const { at, claims } = JSON.parse(opened.plaintext.toString('utf8'));
      return typeof at === 'number' && typeof claims?.sub === 'string'
        ? { claims, resolvedAt: at }
        : undefined;
    } catch {
      return undefined;
    }
  }

  #open(
    sessionKey: string,
    handle: string,
    stored: Buffer | string | undefined,
  ): SessionRecord | undefined {
    if (Buffer.isBuffer(stored) && isBinarySealed(stored)) {
      const opened = openBinaryForHandle(
        handle,
        stored,
        sessionKey,
        this.sealing,
        { dictionary: RECORD_DICTIONARY },
      );
      return 'plaintext' in opened ? decodeRecord(opened.plaintext) : undefined;
    }
    const json = this.#openText(sessionKey, handle, stored?.toString('utf8'));
    try {
      return json === undefined
        ? undefined
        : (JSON.parse(json) as SessionRecord);
    } catch {
      return undefined;
    }
  }

  #openText(sessionKey: string, handle: string, raw: string | undefined) {
    if (!raw) {
      return undefined;
    }
    if (isSealedForHandle(raw)) {
      const opened = openForHandle(handle, raw, sessionKey, this.sealing);
      return 'plaintext' in opened ? opened.plaintext : undefined;
    }
    if (!this.#legacy) {
      // written unsealed before 0.3; with server keys configured nothing
      // unsealed is trusted
      return raw.startsWith('{') ? raw : undefined;
    }
    const opened = this.#legacy.open(raw, sessionKey);
    return 'plaintext' in opened ? opened.plaintext : undefined;
  }
}

function identityAssociatedData(sessionKey: string): string {
  return `${sessionKey}#identity`;
}

/** HGETALL's flat reply (as Buffers) from a script, as an object. */
export function fieldsOf(flat: Buffer[]): StoredFields {
  const fields: StoredFields = {};
  for (let i = 0; i < flat.length; i += 2) {
    fields[flat[i].toString('utf8')] = flat[i + 1];
  }
  return fields;
}
