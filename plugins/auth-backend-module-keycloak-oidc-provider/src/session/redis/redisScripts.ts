import { SESSION_FIELDS as FIELDS } from './sessionRecordCodec';

/**
 * Lua scripts of the Redis session store. Each runs atomically on the node
 * that owns the user's hash tag (`{u:<tag>}`): every key a script touches
 * shares that tag, so they work unchanged on Redis Cluster.
 */
/**
 * Creates a session and indexes it under its user, then drops index entries
 * of expired sessions and, with a per-user limit, evicts the oldest others.
 * KEYS: session, user index. ARGV: ttl ms, createdAt (score), key id, max
 * sessions per user (0 = none), session key prefix of the user, then
 * field/value pairs. Returns the evicted key ids.
 */
export const CREATE_SESSION = `
local ttl = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
local live = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('EXISTS', ARGV[5] .. m) == 1 then
    table.insert(live, m)
  else
    redis.call('ZREM', KEYS[2], m)
  end
end
local evicted = {}
local excess = #live - tonumber(ARGV[4])
if tonumber(ARGV[4]) > 0 and excess > 0 then
  for _, m in ipairs(live) do
    if excess == 0 then break end
    if m ~= ARGV[3] then
      redis.call('DEL', ARGV[5] .. m, ARGV[5] .. m .. ':lock')
      redis.call('ZREM', KEYS[2], m)
      table.insert(evicted, m)
      excess = excess - 1
    end
  end
end
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return evicted
`;

/**
 * Lua: \`folded(flat)\` turns an HGETALL reply's chunk fields (\`k0\`, \`k1\`,
 * … and the like; sessionRecordCodec.ts) into one field per value, named by
 * its prefix and joined up to the first missing or blank chunk: the client
 * then gets three values instead of dozens of 64-byte pieces.
 */
const FOLDED = `
local function folded(flat)
  local out, parts = {}, {}
  for n = 1, #flat, 2 do
    local prefix, i = string.match(flat[n], '^([${FIELDS.recordChunk}${FIELDS.identityChunk}${FIELDS.userAgentChunk}])(%d+)$')
    if prefix then
      parts[prefix] = parts[prefix] or {}
      parts[prefix][tonumber(i) + 1] = flat[n + 1]
    else
      out[#out + 1] = flat[n]
      out[#out + 1] = flat[n + 1]
    end
  end
  for prefix, chunks in pairs(parts) do
    local joined, i = {}, 1
    while chunks[i] and chunks[i] ~= '' do
      joined[i] = chunks[i]
      i = i + 1
    end
    out[#out + 1] = prefix
    out[#out + 1] = table.concat(joined)
  end
  return out
end
`;

/**
 * Writes fields of an existing session only, and slides its TTL and its
 * index's, so a refresh that finishes after a logout cannot resurrect the
 * session. A value written in chunks (`k0`…, `i0`…; sessionRecordCodec.ts)
 * blanks the chunks a longer one left after it, and a new record blanks
 * the legacy `record` field (blanked, not deleted: no HDEL in the ACL).
 * Releases the refresh lock if ARGV[2] still owns it. KEYS: session, lock,
 * user index. ARGV: ttl ms or '' to keep, lock token or '', then
 * field/value pairs.
 */
export const WRITE_SESSION = `
local written = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 3))
  local chunks = {}
  for i = 3, #ARGV, 2 do
    local prefix, n = string.match(ARGV[i], '^([${FIELDS.recordChunk}${FIELDS.identityChunk}])(%d+)$')
    if prefix and tonumber(n) + 1 > (chunks[prefix] or 0) then chunks[prefix] = tonumber(n) + 1 end
  end
  for prefix, n in pairs(chunks) do
    local old = redis.call('HGET', KEYS[1], prefix .. n)
    while old and old ~= '' do
      redis.call('HSET', KEYS[1], prefix .. n, '')
      n = n + 1
      old = redis.call('HGET', KEYS[1], prefix .. n)
    end
  end
  if chunks['${FIELDS.recordChunk}'] then
    local legacy = redis.call('HGET', KEYS[1], '${FIELDS.record}')
    if legacy and legacy ~= '' then redis.call('HSET', KEYS[1], '${FIELDS.record}', '') end
  end
  if ARGV[1] ~= '' then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[3], ARGV[1]) end
  end
  written = 1
end
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('DEL', KEYS[2])
end
return written
`;

/**
 * The start of every refresh, in one round trip: returns {state, fields}
 * with state 2 = fresh (no lock taken): the access token is valid beyond
 * ARGV[3] and Keycloak confirmed the session at or after ARGV[4] (the rule
 * of refresh/freshness.ts `isFresh`; '' = never fresh), 1 = refresh lock
 * KEYS[2] taken with token ARGV[1] for ARGV[2] ms, 0 = another holder has
 * the lock (or the session is gone).
 */
export const READ_FOR_REFRESH = `${FOLDED}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, {}} end
if ARGV[3] ~= '' then
  local f = redis.call('HMGET', KEYS[1], '${FIELDS.accessTokenExpiresAt}', '${FIELDS.refreshedAt}', '${FIELDS.createdAt}')
  local exp = tonumber(f[1] or '0') or 0
  local confirmed = tonumber(f[2] or f[3] or '0') or 0
  if exp > tonumber(ARGV[3]) and confirmed >= tonumber(ARGV[4]) then
    return {2, folded(redis.call('HGETALL', KEYS[1]))}
  end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, folded(redis.call('HGETALL', KEYS[1]))}
end
return {0, folded(redis.call('HGETALL', KEYS[1]))}
`;

/**
 * A session's fields, chunks joined (see FOLDED). KEYS: session. Returns
 * the flat field/value list, empty when there is no session.
 */
export const READ_SESSION = `${FOLDED}
return folded(redis.call('HGETALL', KEYS[1]))
`;

/**
 * Deletes the lock only for its owner, so a holder whose lease ran out
 * cannot release the next holder's lock.
 */
export const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Extends the lock's lease only for its owner. KEYS: lock. ARGV: token,
 * lease ms. Returns 1 if extended.
 */
export const RENEW_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/**
 * Deletes one user's sessions: all, or those whose field ARGV[2] equals
 * ARGV[3]. KEYS: user index. ARGV: session key prefix of the user, field
 * or '', value. Returns the deleted key ids.
 */
export const DELETE_USER_SESSIONS = `
local deleted = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. m
  if ARGV[2] == '' or redis.call('HGET', key, ARGV[2]) == ARGV[3] then
    if redis.call('DEL', key) == 1 then table.insert(deleted, m) end
    redis.call('DEL', key .. ':lock')
    redis.call('ZREM', KEYS[1], m)
  end
end
return deleted
`;

/**
 * Deletes one session, its lock and its index entry. KEYS: session, lock,
 * user index. ARGV: key id. Returns 1 if the session existed.
 */
export const DELETE_SESSION = `
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return existed
`;

/**
 * Sets an existing session's TTL (operator extension), keeping its index
 * alive at least as long. KEYS: session, user index. ARGV: ttl ms.
 */
export const EXTEND_SESSION = `
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return 1
`;

/**
 * A set of user tags that lives at least ARGV[2] ms: adds ARGV[1], or with
 * ARGV[1] = '' only extends an existing set. Used for the `sid` and entity
 * pointers, which live in their own slots.
 */
export const POINTER = `
if ARGV[1] ~= '' then
  redis.call('SADD', KEYS[1], ARGV[1])
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

/**
 * Tracks a session in the set of live sessions (score: its expiry) and
 * keeps that set bounded without a separate sweeper: members that expired
 * are dropped on every write, and the set itself expires with the longest
 * session in it. KEYS: active set. ARGV: now, expiresAt, key id, 'XX' to
 * only update an existing member (a refresh must not re-add a session
 * deleted meanwhile) or ''.
 */
export const TRACK_ACTIVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if ARGV[4] == 'XX' then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[3])
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
end
local ttl = tonumber(ARGV[2]) - tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

/**
 * Counts a started login against the budget of pending logins: two fixed
 * windows of the login TTL, so the count covers at least the logins still
 * pending. KEYS: this window's counter, the previous window's. ARGV: budget,
 * window ms. Returns 1 and counts the login if within budget, else 0.
 */
export const COUNT_PENDING_LOGIN = `
local pending = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(redis.call('GET', KEYS[2]) or '0')
if pending >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
return 1
`;
