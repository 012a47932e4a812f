import { ReplyError } from 'ioredis';

/** A write no replica acknowledged in time (durability `replicated`). */
export class ReplicaAckTimeoutError extends Error {}

// ioredis reports a lost or slow connection as a plain Error with one of
// these messages (ioredis/built/Redis.js, cluster/index.js, Command.js).
const CONNECTION_MESSAGES = [
  'Connection is closed',
  "Stream isn't writeable",
  'Command timed out',
  'Socket timeout',
  'Ready check failed',
  'Cluster is disconnect',
  "Cluster isn't ready",
  'None of startup nodes is available',
  'Node is disconnected',
  'Too many Cluster redirections',
  'All sentinels are unreachable',
  'connect ETIMEDOUT',
];

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

// Replies where Redis is reachable but cannot serve us now or as configured
// (permissions, memory, role, failover, loading): an operator's problem,
// not a defect of this module.
const UNAVAILABLE_REPLIES =
  /^(NOPERM|NOAUTH|WRONGPASS|OOM|READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|BUSY)\b/;

/**
 * A reply, or an error a script met (Redis 7: `ERR …` as is; Redis 6.2:
 * `ERR Error running script (…): @user_script:N: -OOM …`), that says Redis
 * cannot serve us now or as configured.
 */
export function isUnavailableReply(message: string): boolean {
  const inScript = /@user_script: ?\d+: ?-?([A-Z]+\b.*)$/s.exec(message);
  const reply = inScript ? inScript[1] : message;
  return (
    UNAVAILABLE_REPLIES.test(reply) ||
    // an ACL that lacks a command one of our scripts runs
    message.includes("The user executing the script can't run this command")
  );
}

/**
 * Whether an error from ioredis means "Redis is unavailable" (answered as a
 * 503 naming the store) rather than a bug here (a script error, a wrong
 * type, a TypeError), which must surface as itself.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (error instanceof ReplicaAckTimeoutError) {
    return true;
  }
  if (!(error instanceof Error)) {
    return false;
  }
  if (error instanceof ReplyError) {
    return isUnavailableReply(error.message);
  }
  // MaxRetriesPerRequestError, ClusterAllFailedError and other client-side
  // aborts derive from redis-errors' RedisError
  if (
    error.name === 'MaxRetriesPerRequestError' ||
    error.name === 'ClusterAllFailedError'
  ) {
    return true;
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return true;
  }
  return CONNECTION_MESSAGES.some(m => error.message.includes(m));
}
