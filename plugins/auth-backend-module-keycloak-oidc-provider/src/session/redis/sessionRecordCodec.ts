import type { RecordSealer } from '../RecordSealer';
import { sidKeyId } from '../sessionHandle';
import type { SessionRecord, StoredSession } from '../types';

/** Hash fields of a session; all but `record` are plain and token-free. */
export const SESSION_FIELDS = {
  /** the token set: sealed (AES-256-GCM) when encryption keys are set */
  record: 'record',
  /** the Backstage entity ref the session signed in as */
  entityRef: 'user',
  /** the access token's expiry (epoch ms), for the fast path */
  accessTokenExpiresAt: 'exp',
  /** sha256 of the Keycloak `sid`, for back-channel logout */
  sid: 'sid',
  /** Keycloak user id */
  sub: 'sub',
  createdAt: 'c',
  refreshedAt: 'r',
  userAgent: 'ua',
} as const;

const MAX_USER_AGENT_LENGTH = 256;

type Fields = (string | number)[];

/**
 * Turns a session record into hash fields and back. The token set is one
 * JSON value, sealed under the session's key when a sealer is configured
 * (the key is the associated data, so a value copied to another key does not
 * open); the fields the scripts and admin queries need are stored beside it
 * in plain, token-free form.
 */
export class SessionRecordCodec {
  constructor(private readonly sealer?: RecordSealer) {}

  /** Fields written on every change of the token set. */
  tokenFields(sessionKey: string, record: SessionRecord): Fields {
    const json = JSON.stringify(record);
    return [
      SESSION_FIELDS.record,
      this.sealer ? this.sealer.seal(json, sessionKey) : json,
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
    record: SessionRecord,
    userAgent?: string,
  ): Fields {
    const ua = userAgent?.slice(0, MAX_USER_AGENT_LENGTH);
    return [
      ...this.tokenFields(sessionKey, record),
      SESSION_FIELDS.sub,
      record.sub,
      SESSION_FIELDS.createdAt,
      record.createdAt,
      ...(ua ? [SESSION_FIELDS.userAgent, ua] : []),
    ];
  }

  /**
   * A record we cannot read (sealed under a key that was removed, tampered
   * with, or sealed while no keys are configured) is a missing session: the
   * user signs in again.
   */
  decode(
    sessionKey: string,
    fields: Record<string, string>,
  ): StoredSession | undefined {
    const raw = fields[SESSION_FIELDS.record];
    if (!raw) {
      return undefined;
    }
    let json = raw;
    if (this.sealer) {
      const opened = this.sealer.open(raw, sessionKey);
      if (!('plaintext' in opened)) {
        return undefined;
      }
      json = opened.plaintext;
    }
    let record: SessionRecord;
    try {
      record = JSON.parse(json) as SessionRecord;
    } catch {
      return undefined;
    }
    return {
      record,
      entityRef: fields[SESSION_FIELDS.entityRef] || undefined,
    };
  }
}

/** HGETALL's flat reply from a script, as an object. */
export function fieldsOf(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) {
    fields[flat[i]] = flat[i + 1];
  }
  return fields;
}
