// @ts-check

/** Models whose entries revokeByGrantId removes (as in oidc-provider's own). */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/**
 * An in-memory oidc-provider adapter, one store per provider, like
 * oidc-provider's own MemoryAdapter but without its 1000-entry LRU bound:
 * that bound silently evicts idle sessions and refresh tokens after a few
 * hundred logins, which would look like spurious "Session not active" errors
 * in long test runs. Entries live until they expire (or the process exits —
 * a restart loses every session, like a Keycloak restart).
 *
 * The returned `adapter` configuration value also has `entries(model)`,
 * listing the live payloads of one model (e.g. every Session, to sign a
 * user out of all of them as Keycloak's admin console does).
 *
 * @param {number} clockTolerance seconds entries are kept beyond expiry
 * @returns {((model: string) => object) & { entries: (model: string) => Array<[string, any]> }}
 */
export function createMemoryAdapter(clockTolerance = 15) {
  /** @type {Map<string, { value: any, expiresAt: number }>} */
  const store = new Map();
  let writes = 0;

  /** @param {string} key */
  const get = key => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.value;
  };

  /**
   * @param {string} key
   * @param {any} value
   * @param {number | undefined} expiresIn seconds
   */
  const set = (key, value, expiresIn) => {
    const expiresAt =
      typeof expiresIn === 'number'
        ? Date.now() + (expiresIn + clockTolerance) * 1000
        : Infinity;
    store.set(key, { value, expiresAt });
    writes += 1;
    if (writes % 1000 === 0) {
      const now = Date.now();
      for (const [k, entry] of store)
        if (entry.expiresAt <= now) store.delete(k);
    }
  };

  /** @param {string} grantId */
  const grantKey = grantId => `grant:${grantId}`;

  /** @param {string} model */
  const factory = model => {
    /** @param {string} id */
    const key = id => `${model}:${id}`;
    return {
      /** @param {string} id */
      async find(id) {
        return get(key(id));
      },
      /** @param {string} uid */
      async findByUid(uid) {
        const id = get(`sessionUid:${uid}`);
        return id ? get(key(id)) : undefined;
      },
      /** @param {string} userCode */
      async findByUserCode(userCode) {
        const id = get(`userCode:${userCode}`);
        return id ? get(key(id)) : undefined;
      },
      /**
       * @param {string} id
       * @param {any} payload
       * @param {number} [expiresIn]
       */
      async upsert(id, payload, expiresIn) {
        if (model === 'Session' && payload.uid) {
          set(`sessionUid:${payload.uid}`, id, expiresIn);
        }
        if (payload.userCode)
          set(`userCode:${payload.userCode}`, id, expiresIn);
        if (payload.grantId && GRANTABLE.has(model)) {
          // grant → its tokens, for revokeByGrantId; lives as long as its
          // longest-lived member
          /** @type {Map<string, number>} */
          const members = get(grantKey(payload.grantId)) ?? new Map();
          const memberExpiresAt =
            typeof expiresIn === 'number'
              ? Date.now() + (expiresIn + clockTolerance) * 1000
              : Infinity;
          members.set(key(id), memberExpiresAt);
          store.set(grantKey(payload.grantId), {
            value: members,
            expiresAt: Math.max(...members.values()),
          });
        }
        set(key(id), payload, expiresIn);
      },
      /** @param {string} id */
      async destroy(id) {
        store.delete(key(id));
      },
      /** @param {string} id */
      async consume(id) {
        const payload = get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      /** @param {string} grantId */
      async revokeByGrantId(grantId) {
        const members = get(grantKey(grantId));
        if (members) for (const member of members.keys()) store.delete(member);
        store.delete(grantKey(grantId));
      },
    };
  };

  return Object.assign(factory, {
    /** @param {string} model */
    entries(model) {
      const prefix = `${model}:`;
      /** @type {Array<[string, any]>} */
      const live = [];
      for (const key of store.keys()) {
        const value = key.startsWith(prefix) ? get(key) : undefined;
        if (value !== undefined) live.push([key.slice(prefix.length), value]);
      }
      return live;
    },
  });
}
