import { BackendProcess } from '../fixtures/BackendProcess';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import { freePort, RedisServer } from '@redis-session/test-support';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(240_000);

/** One sample line of the Prometheus text format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    )) {
      labels[key] = value;
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** Samples of `name` whose labels include `labels`. */
function find(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
) {
  return samples.filter(
    s =>
      s.name === name &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/**
 * The example backend as a real process with its OpenTelemetry
 * instrumentation (packages/backend/src/instrumentation.js): the module's
 * `keycloak_oidc.*` instruments reach the Prometheus scrape endpoint.
 */
describe('example backend metrics for Prometheus', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let backend: BackendProcess;
  let prometheusPort: number;
  let authUrl: string;

  async function scrape(): Promise<{ text: string; samples: Sample[] }> {
    const res = await fetch(backend.metricsUrl!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    return { text, samples: parseSamples(text) };
  }

  beforeAll(async () => {
    idp = await DevIdp.start();
    redisServer = await RedisServer.start();
    prometheusPort = await freePort();
    backend = await BackendProcess.create(
      listenPort => ({
        backend: {
          baseUrl: `http://localhost:${listenPort}`,
          listen: { port: listenPort },
        },
        auth: {
          session: {
            // every refresh goes to Keycloak
            minAccessTokenValidity: 0,
            store: 'redis',
            redis: { url: redisServer.url, prefix: 'e2e-metrics:session:' },
          },
          providers: {
            'keycloak-oidc': {
              development: {
                metadataUrl: idp.issuer,
                postLogoutRedirectUrl: `http://localhost:${listenPort}`,
              },
            },
          },
        },
      }),
      { env: { PROMETHEUS_PORT: String(prometheusPort) } },
    );
    await backend.start();
    authUrl = `${backend.url}/api/auth/keycloak-oidc`;
    await backend.waitForCatalogUser('alice');
  });

  afterAll(async () => {
    await backend?.dispose();
    await redisServer?.dispose();
    await idp?.stop();
  });

  it('serves /metrics on PROMETHEUS_PORT from the global meter provider', async () => {
    expect(backend.metricsUrl).toBe(
      `http://localhost:${prometheusPort}/metrics`,
    );
    const { text, samples } = await scrape();
    expect(text).toContain('# TYPE target_info gauge');
    // the catalog's instruments: Backstage's default MetricsService takes its
    // meters from the global meter provider that instrumentation.js set
    expect(find(samples, 'catalog_entities_count', { kind: 'user' })).toEqual([
      {
        name: 'catalog_entities_count',
        labels: { kind: 'user', otel_scope_name: 'backstage-plugin-catalog' },
        value: expect.any(Number),
      },
    ]);
    expect(
      (await fetch(`http://localhost:${prometheusPort}/other`)).status,
    ).toBe(404);
  });

  it('counts logins and refreshes, with the Keycloak reason of an invalid_grant', async () => {
    const browser = new Browser();
    await signIn(browser, authUrl, 'alice');
    for (let i = 0; i < 2; i++) {
      expect((await refresh(browser, authUrl)).status).toBe(200);
    }

    const { text, samples: afterRefreshes } = await scrape();
    // the module's instruments come through Backstage's MetricsService, whose
    // meter scope for the auth plugin is backstage-plugin-auth
    expect(text).toMatch(
      /^keycloak_oidc_logins_total\{[^}]*outcome="ok"[^}]*\} 1$/m,
    );
    expect(find(afterRefreshes, 'keycloak_oidc_logins_total')).toEqual([
      {
        name: 'keycloak_oidc_logins_total',
        labels: { outcome: 'ok', otel_scope_name: 'backstage-plugin-auth' },
        value: 1,
      },
    ]);
    expect(text).toMatch(
      /^keycloak_oidc_refreshes_total\{[^}]*outcome="ok"[^}]*\} 2$/m,
    );
    expect(find(afterRefreshes, 'keycloak_oidc_refreshes_total')).toEqual([
      {
        name: 'keycloak_oidc_refreshes_total',
        labels: { outcome: 'ok', otel_scope_name: 'backstage-plugin-auth' },
        value: 2,
      },
    ]);

    // Keycloak restarts and forgets the session: invalid_grant
    await idp.restart();
    expect((await refresh(browser, authUrl)).status).toBe(401);

    const { samples } = await scrape();
    expect(
      find(samples, 'keycloak_oidc_refreshes_total', {
        outcome: 'invalid_grant',
      }),
    ).toEqual([
      {
        name: 'keycloak_oidc_refreshes_total',
        labels: {
          outcome: 'invalid_grant',
          reason: 'Session not active',
          otel_scope_name: 'backstage-plugin-auth',
        },
        value: 1,
      },
    ]);
    expect(
      find(samples, 'keycloak_oidc_refreshes_total', { outcome: 'ok' }),
    ).toEqual([expect.objectContaining({ value: 2 })]);
  });

  it('reports active sessions, Redis latency and back-channel logouts under the documented names', async () => {
    const browser = new Browser();
    await signIn(browser, authUrl, 'bob');
    // a forged logout token: refused, and counted as such
    const refused = await fetch(`${authUrl}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'logout_token=not-a-jwt',
    });
    expect(refused.status).toBe(400);

    const { samples } = await scrape();
    // alice's session ended with the IdP restart; bob's is live
    expect(find(samples, 'keycloak_oidc_sessions_active')).toEqual([
      expect.objectContaining({ value: 1 }),
    ]);
    const redisLatency = find(
      samples,
      'keycloak_oidc_redis_command_duration_count',
      { operation: 'creating the session', outcome: 'ok' },
    );
    expect(redisLatency).toEqual([
      expect.objectContaining({ value: expect.any(Number) }),
    ]);
    expect(redisLatency[0].value).toBeGreaterThanOrEqual(2);
    expect(
      find(samples, 'keycloak_oidc_backchannel_logouts_total', {
        outcome: 'rejected',
      }),
    ).toEqual([expect.objectContaining({ value: 1 })]);
  });
});
