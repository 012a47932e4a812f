/**
 * The session demo page. Backstage's Content-Security-Policy forbids inline
 * scripts, so the page loads its logic from demo.js next to it.
 */
export function renderSessionDemoPage({ env }: { env: string }): string {
  const safeEnv = env.replace(/[^A-Za-z0-9_-]/g, '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Backstage Keycloak sessions</title>
<style>body{font-family:sans-serif;max-width:42rem;margin:2rem auto}pre{background:#f4f4f4;padding:1rem;white-space:pre-wrap}</style>
</head><body data-env="${safeEnv}">
<h1>Backstage Keycloak sessions</h1>
<p id="status">Checking session…</p>
<p><a id="sign-in" href="#">Sign in with Keycloak</a> · <button id="refresh">Refresh now</button> · <button id="sign-out">Sign out</button></p>
<pre id="identity"></pre>
<script src="demo.js"></script>
</body></html>`;
}

/** Signs in with the redirect flow, shows what /refresh returns, signs out. */
export const sessionDemoScript = `'use strict';
const base = '/api/auth/keycloak-oidc';
const env = document.body.dataset.env;
const here = location.origin + location.pathname;
document.getElementById('sign-in').href = base + '/start?env=' + env +
  '&flow=redirect&redirectUrl=' + encodeURIComponent(here);
const headers = { 'X-Requested-With': 'XMLHttpRequest' };
async function refresh() {
  const res = await fetch(base + '/refresh?env=' + env, { headers, credentials: 'include' });
  const body = await res.json().catch(() => ({}));
  const status = document.getElementById('status');
  const out = document.getElementById('identity');
  if (!res.ok) {
    status.textContent = 'Signed out (' + res.status + ': ' + (body.error?.message ?? res.statusText) + ')';
    out.textContent = '';
    return;
  }
  const identity = body.backstageIdentity?.identity;
  status.textContent = 'Signed in as ' + (identity?.userEntityRef ?? body.profile?.email) +
    ' (last refresh ' + new Date().toLocaleTimeString() + ')';
  out.textContent = JSON.stringify({ profile: body.profile, identity }, null, 2);
}
document.getElementById('refresh').onclick = refresh;
document.getElementById('sign-out').onclick = async () => {
  const res = await fetch(base + '/logout?env=' + env, { method: 'POST', headers, credentials: 'include' });
  const body = await res.json().catch(() => ({}));
  if (body.logoutUrl) location.href = body.logoutUrl; else refresh();
};
const error = new URLSearchParams(location.search).get('error');
if (error) document.getElementById('status').textContent = 'Sign-in failed: ' + error;
else refresh();
`;
