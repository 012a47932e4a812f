// @ts-check
import { claimsOf } from './users.mjs';

const escape = (/** @type {string} */ s) =>
  s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);

/**
 * A Keycloak-like login page (form `kc-form-login`, fields `username` and
 * `password`, button `kc-login`).
 * @param {{ action: string, realm: string, error?: string, username?: string }} p
 */
function loginPage({ action, realm, error, username = '' }) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to ${escape(realm)}</title>
<style>body{font-family:sans-serif;background:#f0f0f0}main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:4px}
label,input,button{display:block;width:100%;margin:.4rem 0}input{padding:.4rem}button{padding:.5rem;background:#0066cc;color:#fff;border:0}
.error{color:#b00}</style></head>
<body><main><h1 id="kc-page-title">Sign in to your account</h1>
<p>Realm <b>${escape(realm)}</b> (development IdP)</p>
${error ? `<p class="error" id="input-error">${escape(error)}</p>` : ''}
<form id="kc-form-login" method="post" action="${escape(action)}">
<label for="username">Username or email</label><input id="username" name="username" value="${escape(username)}" autofocus autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button id="kc-login" type="submit">Sign In</button>
</form></main></body></html>`;
}

/** @param {import('node:http').IncomingMessage} req */
async function formBody(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

/**
 * Handles `/interaction/:uid[/login]` (paths already stripped of the realm
 * prefix): the login form with a real password check, and consent granted
 * automatically as Keycloak does for clients without "Consent required".
 *
 * @param {{ provider: any, realmPath: string, realm: string,
 *   users: import('./users.mjs').DevUser[], log: (line: string) => void }} deps
 */
export function createInteractionHandler({
  provider,
  realmPath,
  realm,
  users,
  log,
}) {
  /**
   * @param {import('node:http').IncomingMessage} req
   * @param {import('node:http').ServerResponse} res
   * @param {string} path
   */
  return async function handleInteraction(req, res, path) {
    const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(path);
    if (!match) return false;
    const details = await provider.interactionDetails(req, res);
    const action = `${realmPath}/interaction/${details.uid}/login`;

    if (req.method === 'POST' && match[2]) {
      const form = await formBody(req);
      const username = form.get('username') ?? '';
      const user = users.find(
        u => u.username === username || u.email === username,
      );
      if (!user || user.password !== form.get('password')) {
        log(`login failed for '${username}'`);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          loginPage({
            action,
            realm,
            username,
            error: 'Invalid username or password.',
          }),
        );
        return true;
      }
      log(`login ${user.username}`);
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.sub } },
        { mergeWithLastSubmission: false },
      );
      return true;
    }

    if (details.prompt.name === 'login') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(loginPage({ action, realm }));
      return true;
    }

    if (details.prompt.name === 'consent') {
      const {
        prompt: { details: missing },
        params,
        session,
        grantId,
      } = details;
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({
            accountId: session.accountId,
            clientId: params.client_id,
          });
      if (missing.missingOIDCScope)
        grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims)
        grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(
        missing.missingResourceScopes ?? {},
      )) {
        grant.addResourceScope(
          indicator,
          /** @type {string[]} */ (scopes).join(' '),
        );
      }
      const savedGrantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId: savedGrantId } },
        { mergeWithLastSubmission: true },
      );
      return true;
    }

    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`Unsupported interaction prompt ${details.prompt.name}`);
    return true;
  };
}

/**
 * @param {import('./users.mjs').DevUser[]} users
 * @returns {(ctx: unknown, id: string) => Promise<any>}
 */
export function accountFinder(users) {
  return async (_ctx, id) => {
    const user = users.find(u => u.sub === id);
    if (!user) return undefined;
    return { accountId: user.sub, claims: async () => claimsOf(user) };
  };
}
