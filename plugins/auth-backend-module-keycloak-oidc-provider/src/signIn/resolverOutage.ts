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
 * Whether the sign-in resolver failed for want of an answer rather than
 * refusing the user: what it asked (the catalog, over HTTP) could not be
 * reached, timed out, or answered 5xx or 429. That says nothing about the
 * user, so a refresh keeps the session and answers 503; a refusal
 * (`NotFoundError`: not in the catalog, `NotAllowedError`, or any other
 * error a resolver throws) still ends the sign-in as before. Without this,
 * upstream's refresh handler turns a catalog outage (a replica shutting
 * down, the catalog's database failing over) into a 401: a sign-out.
 */
export function isResolverOutage(error: unknown, depth = 0): boolean {
  if (!isError(error) || depth > 4) {
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
    (typeof code === 'string' && NETWORK_CODES.has(code)) ||
    (error.name === 'TypeError' && error.message === 'fetch failed') ||
    error.name === 'AbortError' ||
    error.name === 'TimeoutError'
  ) {
    return true;
  }
  return isResolverOutage((error as { cause?: unknown }).cause, depth + 1);
}
