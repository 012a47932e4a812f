// @ts-check

/**
 * Counts (and logs) the logout tokens oidc-provider delivers, whether for an
 * end-session request or for an admin sign-out below, in
 * `stats.backchannelLogouts` and `stats.backchannelLogoutErrors`.
 *
 * @param {any} provider
 * @param {{ stats: Record<string, number>, log: (line: string) => void }} options
 */
export function countBackchannelLogouts(provider, { stats, log }) {
  provider.on(
    'backchannel.success',
    (
      /** @type {any} */ _ctx,
      /** @type {any} */ client,
      /** @type {string} */ accountId,
      /** @type {string | undefined} */ sid,
    ) => {
      stats.backchannelLogouts += 1;
      log(
        `back-channel logout delivered to ${client.clientId} (sub=${accountId} sid=${sid})`,
      );
    },
  );
  provider.on(
    'backchannel.error',
    (
      /** @type {any} */ _ctx,
      /** @type {Error} */ error,
      /** @type {any} */ client,
    ) => {
      stats.backchannelLogoutErrors += 1;
      log(`back-channel logout to ${client.clientId} failed: ${error.message}`);
    },
  );
}

/**
 * Ends a grant's tokens and the grant, as oidc-provider's end-session does
 * (its helper needs a request context, which an admin action has none of).
 *
 * @param {any} provider
 * @param {string} grantId
 */
async function revokeGrant(provider, grantId) {
  await Promise.all([
    provider.AccessToken.revokeByGrantId(grantId),
    provider.RefreshToken.revokeByGrantId(grantId),
    provider.AuthorizationCode.revokeByGrantId(grantId),
  ]);
  await provider.Grant.adapter.destroy(grantId);
}

/**
 * `POST /dev/users/<username>/logout`: Keycloak's admin console "Sign out"
 * for a user (Users → user → Sessions; REST
 * `POST /admin/realms/<realm>/users/<id>/logout`). Ends every session of the
 * user at the IdP, revoking their grants and so their refresh tokens, then
 * sends each client with a `backchannel_logout_uri` a logout token per
 * session through oidc-provider's own `Client#backchannelLogout`, so the
 * token is exactly what an end-session request would send. Answers
 * `{ sessions, delivered, failed }`.
 *
 * @param {{ provider: any, sessions: () => Array<[string, any]>,
 *   users: import('./users.mjs').DevUser[], log: (line: string) => void }} deps
 */
export function createUserLogoutHandler({ provider, sessions, users, log }) {
  /**
   * @param {import('node:http').IncomingMessage} req
   * @param {import('node:http').ServerResponse} res
   * @param {string} path
   */
  return async function handleUserLogout(req, res, path) {
    const match = /^\/dev\/users\/([^/]+)\/logout$/.exec(path);
    if (!match) return false;
    const json = (/** @type {number} */ status, /** @type {object} */ body) =>
      res
        .writeHead(status, {
          'content-type': 'application/json',
          'cache-control': 'no-store',
        })
        .end(JSON.stringify(body));
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      json(405, { error: 'use POST' });
      return true;
    }
    const username = decodeURIComponent(match[1]);
    const user = users.find(u => u.username === username);
    if (!user) {
      json(404, { error: `unknown user '${username}'` });
      return true;
    }

    let ended = 0;
    let delivered = 0;
    let failed = 0;
    for (const [id, payload] of sessions()) {
      if (payload.accountId !== user.sub) continue;
      const session = await provider.Session.find(id);
      if (!session) continue;
      ended += 1;
      /** @type {Array<[string, { sid?: string, grantId?: string }]>} */
      const authorizations = Object.entries(session.authorizations ?? {});
      // Dead at the IdP before any client hears of it, like Keycloak: a
      // client that refreshes on receipt already gets invalid_grant.
      for (const [, { grantId }] of authorizations) {
        if (grantId) await revokeGrant(provider, grantId);
      }
      await session.destroy();

      for (const [clientId, { sid }] of authorizations) {
        const client = await provider.Client.find(clientId);
        if (!client?.backchannelLogoutUri) continue;
        try {
          await client.backchannelLogout(user.sub, sid);
          delivered += 1;
          provider.emit(
            'backchannel.success',
            undefined,
            client,
            user.sub,
            sid,
          );
        } catch (error) {
          failed += 1;
          provider.emit(
            'backchannel.error',
            undefined,
            error,
            client,
            user.sub,
            sid,
          );
        }
      }
    }
    log(
      `admin sign-out of ${username}: ${ended} session(s) ended, ${delivered} logout token(s) delivered, ${failed} failed`,
    );
    json(200, { sessions: ended, delivered, failed });
    return true;
  };
}
