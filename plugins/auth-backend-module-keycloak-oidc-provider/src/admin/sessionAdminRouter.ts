import type { LoggerService } from '@backstage/backend-plugin-api';
import { InputError, NotFoundError } from '@backstage/errors';
import express, { type Request } from 'express';
import Router from 'express-promise-router';
import type { SessionOwner, SessionQueries } from '../session/types';
import { logText } from '../logging/logText';
import type { SessionAdminAccess } from './SessionAdminAccess';

const MAX_EXTEND_SECONDS = 31_536_000;

/** `?user=<entity ref>` or `?sub=<Keycloak user id>`, exactly one. */
function ownerOf(req: Request): SessionOwner {
  const { user, sub } = req.query;
  if (typeof user === 'string' && user && sub === undefined) {
    return { entityRef: user.toLocaleLowerCase('en-US') };
  }
  if (typeof sub === 'string' && sub && user === undefined) {
    return { sub };
  }
  throw new InputError(
    'Name whose sessions: exactly one of ?user=<entity ref, e.g. user:default/alice> or ?sub=<Keycloak user id>',
  );
}

/**
 * The session admin API, served under the auth plugin at
 * `/api/auth/keycloak-oidc/admin`: list a user's sessions, count all,
 * revoke one or all of a user's, extend one. Responses never hold a token
 * or a handle; session ids are hashes. Every change is logged with who
 * made it.
 */
export function sessionAdminRouter(deps: {
  store: SessionQueries;
  access: SessionAdminAccess;
  logger: LoggerService;
}): express.Router {
  const { store, access, logger } = deps;
  const router = Router();
  const base = '/keycloak-oidc/admin/sessions';
  router.use(base, express.json({ limit: '4kb' }));

  router.get(`${base}/count`, async (req, res) => {
    await access.authorize(req);
    res.json({ count: await store.countSessions() });
  });

  router.get(base, async (req, res) => {
    await access.authorize(req);
    res.json({ sessions: await store.listSessions(ownerOf(req)) });
  });

  router.delete(base, async (req, res) => {
    const actor = await access.authorize(req);
    const owner = ownerOf(req);
    const deleted = await store.deleteSessionsOf(owner);
    logger.info(
      `Session admin: ${logText(actor)} revoked ${deleted} session(s) of ${logText(JSON.stringify(owner))}`,
      { actor, deleted },
    );
    res.json({ deleted });
  });

  router.delete(`${base}/:id`, async (req, res) => {
    const actor = await access.authorize(req);
    if (!(await store.deleteSessionById(req.params.id))) {
      throw new NotFoundError(`No session ${req.params.id}`);
    }
    logger.info(
      `Session admin: ${logText(actor)} revoked session ${logText(req.params.id)}`,
      {
        actor,
      },
    );
    res.status(204).end();
  });

  router.post(`${base}/:id/extend`, async (req, res) => {
    const actor = await access.authorize(req);
    const ttlSeconds = req.body?.ttlSeconds;
    if (
      !Number.isInteger(ttlSeconds) ||
      ttlSeconds < 1 ||
      ttlSeconds > MAX_EXTEND_SECONDS
    ) {
      throw new InputError(
        `Body must be {"ttlSeconds": <integer from 1 to ${MAX_EXTEND_SECONDS}>}`,
      );
    }
    if (!(await store.extendSessionById(req.params.id, ttlSeconds * 1000))) {
      throw new NotFoundError(`No session ${req.params.id}`);
    }
    logger.info(
      `Session admin: ${logText(actor)} set session ${logText(req.params.id)} to expire in ${ttlSeconds} s`,
      { actor },
    );
    res.json({ id: req.params.id, expiresAt: Date.now() + ttlSeconds * 1000 });
  });

  return router;
}
