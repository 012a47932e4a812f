import type { Request, Response } from 'express';
import {
  KeycloakUnavailableError,
  SessionStoreUnavailableError,
  type OutageDependency,
} from '../errors';

/** Seconds a browser is told to wait before trying again (`Retry-After`). */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

const HEADLINES: Record<OutageDependency, string> = {
  'session-store': 'The session store is unavailable',
  keycloak: 'Keycloak is unreachable',
};

const ADVICE = 'Your session is kept; try signing in again in a moment.';

/**
 * Which dependency an error says is down, from its type: the session
 * store's executor throws SessionStoreUnavailableError for every Redis
 * failure it classifies as an outage, the OIDC client
 * KeycloakUnavailableError for every Keycloak failure that is not a verdict
 * on the user. Anything else (a bug, bad input, the pending-login budget)
 * is not an outage of a dependency: undefined.
 */
export function outageDependencyOf(
  error: unknown,
): OutageDependency | undefined {
  if (
    error instanceof SessionStoreUnavailableError ||
    error instanceof KeycloakUnavailableError
  ) {
    return error.dependency;
  }
  return undefined;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    c =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[
        c
      ]!,
  );
}

/**
 * The page a browser gets instead of a sign-in while `dependency` is down:
 * static text only (what is down, and to try again), no script, never the
 * error's own message.
 */
export function renderOutagePage(dependency: OutageDependency): string {
  const title = escapeHtml(HEADLINES[dependency]);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8">',
    `<title>${title}</title></head>`,
    `<body><h1>${title}</h1>`,
    `<p>${escapeHtml(ADVICE)}</p></body>`,
    '</html>',
    '',
  ].join('\n');
}

/**
 * Whether the request is a browser navigation (the sign-in popup, the
 * redirect flow): its Accept header names `text/html`. Programs (fetch's
 * `*\/*`, no Accept) keep the JSON error body.
 */
export function isBrowserNavigation(req: Request): boolean {
  return /\btext\/html\b/i.test(req.get('accept') ?? '');
}

/** Answers 503 with the outage page for `dependency`. */
export function sendOutagePage(res: Response, dependency: OutageDependency) {
  res.status(503);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Retry-After', String(OUTAGE_RETRY_AFTER_SECONDS));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', "default-src 'none'");
  res.end(renderOutagePage(dependency));
}
