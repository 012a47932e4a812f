import { isError } from '@backstage/errors';

/** Node's codes for a connection that failed or went silent */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/**
 * The auth plugin's database (PostgreSQL through knex) failing under the
 * resolver, as it stores the user's info: SQLSTATE classes 08 (connection
 * exception) and 57P (operator intervention: shutdown, failover)
 */
const DATABASE_OUTAGE_CODE = /^(08|57P)/;
const DATABASE_OUTAGE_NAMES = new Set(['KnexTimeoutError']);

/** Errors by which a resolver refuses the user: never an outage */
const REFUSALS = new Set([
  'NotFoundError',
  'NotAllowedError',
  'AuthenticationError',
  'InputError',
  'ConflictError',
]);

/**
 * Whether the sign-in resolver failed for want of an answer rather than
 * refusing the user: what it asked (the catalog, over HTTP) could not be
 * reached, timed out, or answered 5xx or 429, or the auth plugin's own
 * database was unreachable. That says nothing about the user, so a refresh
 * keeps the session and answers 503; a refusal (`NotFoundError`: not in the
 * catalog, `NotAllowedError`, whatever their cause, or any other error a
 * resolver throws) still answers 401 as before. Without this,
 * upstream's refresh handler turns a catalog outage (a replica shutting
 * down, the catalog's database failing over) into a 401: a sign-out.
 */
export function isResolverOutage(error: unknown, depth = 0): boolean {
  if (!isError(error) || depth > 4 || REFUSALS.has(error.name)) {
    return false;
  }
  // @backstage/errors' ResponseError, from CatalogClient on a non-OK answer;
  // duck-typed, it may come from another copy of the package
  const status = (error as { statusCode?: unknown }).statusCode;
  if (error.name === 'ResponseError' && typeof status === 'number') {
    return status >= 500 || status === 429;
  }
  const code = (error as { code?: unknown }).code;
  if (
    (typeof code === 'string' &&
      (NETWORK_CODES.has(code) || DATABASE_OUTAGE_CODE.test(code))) ||
    DATABASE_OUTAGE_NAMES.has(error.name) ||
    (error.name === 'TypeError' && error.message === 'fetch failed') ||
    error.name === 'AbortError' ||
    error.name === 'TimeoutError'
  ) {
    return true;
  }
  return isResolverOutage((error as { cause?: unknown }).cause, depth + 1);
}
