/*
 * `yarn bench keycloak`: /refresh against a real Keycloak server (needs
 * KEYCLOAK_HOME, as `yarn test:keycloak` sets it; scripts/keycloak-home.sh
 * prints it), for our module on the Keycloak path and on the fast path, and
 * for Backstage's own oidc provider, with the Keycloak process's own CPU
 * seconds per 1,000 refreshes as the headline.
 */
import { BackendProcess } from '../src/fixtures/BackendProcess';
import { Browser } from '../src/fixtures/Browser';
import { KeycloakServer } from '../src/fixtures/KeycloakServer';
import { cpuTimeOf } from '../src/fixtures/processStats';
import {
  RedisServer,
  mergeLoads,
  type LoadResult,
  markdownTable,
  ms,
} from '@redis-session/test-support';
import { signIn } from '../src/fixtures/signIn';
import type { DevUserName } from '../src/fixtures/users';
import { benchBackendConfig } from './benchBackendConfig';
import { pageLoadMix } from './sessions/pageLoadMix';
import { refreshLoad } from './sessions/refreshLoad';

const CLIENT_COUNTS = [1, 16];
const SESSIONS = Math.max(...CLIENT_COUNTS);
const USERS: DevUserName[] = ['alice', 'bob', 'carol'];
const ROUNDS = 2;
const REFRESH_MS = Number(process.env.BENCH_REFRESH_MS ?? 12_000);
const IDLE_MS = 5_000;
/**
 * The realistic mix, time compressed 10×: a page load every 5 to 15 s per
 * user becomes 0.5 to 1.5 s, and the 60 s keycloakCheckInterval 6 s; one
 * page load in five comes with a second tab.
 */
const MIX = {
  thinkMs: [500, 1_500] as [number, number],
  secondTab: 0.2,
  keycloakCheckIntervalSeconds: 6,
  durationMs: Number(process.env.BENCH_MIX_MS ?? 40_000),
};

/** The realistic mix: Keycloak's CPU per refresh, ours next to upstream's. */
interface MixRow {
  scenario: string;
  users: number;
  refreshes: number;
  errors: number;
  keycloakCpuSecondsPer1000: number;
}

interface KeycloakRow {
  scenario: string;
  clients: number;
  refreshes: number;
  opsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  backendCpuPercent: number;
  /** Keycloak's CPU seconds per 1,000 refreshes, its idle use subtracted */
  keycloakCpuSecondsPer1000: number;
}

export interface KeycloakBenchResult {
  keycloakVersion: string;
  keycloakBootMs: number;
  keycloakIdleCpuPercent: number;
  rows: KeycloakRow[];
  /** page loads and tabs of the same users, over time */
  mix: MixRow[];
  /** Keycloak CPU per refresh in the mix, ours over upstream's */
  mixRatio: number;
  /** Keycloak CPU per refresh, each of ours over upstream's, by client count */
  headline: Record<number, { keycloakPath: number; fastPath: number }>;
}

async function logins(authUrl: string, providerId: string) {
  const cookies: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    cookies.push(
      await signIn(new Browser(), authUrl, USERS[i % USERS.length], {
        providerId,
      }),
    );
  }
  return cookies;
}

export async function benchKeycloak(): Promise<{
  result: KeycloakBenchResult;
  markdown: string;
}> {
  const [keycloak, redisServer] = await Promise.all([
    KeycloakServer.start(),
    RedisServer.start(),
  ]);
  // Keycloak's defaults (no rotation); no saved events, which would cost
  // Keycloak database writes of their own
  const realm = await keycloak.createRealm('backstage', {
    realm: { eventsEnabled: false },
  });
  const redisSession = {
    store: 'redis',
    redis: { url: redisServer.url, prefix: 'backstage:session:' },
  };
  const backends = {
    keycloakPath: await BackendProcess.create(
      benchBackendConfig({
        issuer: realm.issuer,
        session: { ...redisSession, minAccessTokenValidity: 0 },
        upstream: true,
      }),
    ),
    fastPath: await BackendProcess.create(
      benchBackendConfig({
        issuer: realm.issuer,
        session: { ...redisSession, minAccessTokenValidity: 240 },
        upstream: false,
      }),
    ),
    mix: await BackendProcess.create(
      benchBackendConfig({
        issuer: realm.issuer,
        session: {
          ...redisSession,
          minAccessTokenValidity: 240,
          keycloakCheckInterval: MIX.keycloakCheckIntervalSeconds,
        },
        upstream: false,
      }),
    ),
  };
  try {
    await Promise.all(
      Object.values(backends).map(async b => {
        await b.start();
        await b.waitForCatalogUser('alice');
      }),
    );
    const auth = (b: BackendProcess, provider: string) =>
      `${b.url}/api/auth/${provider}`;
    const ours = await logins(
      auth(backends.keycloakPath, 'keycloak-oidc'),
      'keycloak-oidc',
    );
    const upstream = await logins(auth(backends.keycloakPath, 'oidc'), 'oidc');

    const idleBefore = keycloak.cpuSeconds();
    await new Promise(r => setTimeout(r, IDLE_MS));
    const idleCpuPerMs = (keycloak.cpuSeconds() - idleBefore) / IDLE_MS;

    const runs: [string, BackendProcess, string, string[]][] = [
      ['ours, Keycloak path', backends.keycloakPath, 'keycloak-oidc', ours],
      ['upstream oidc', backends.keycloakPath, 'oidc', upstream],
      ['ours, fast path', backends.fastPath, 'keycloak-oidc', ours],
    ];
    const rows: KeycloakRow[] = [];
    const headline: KeycloakBenchResult['headline'] = {};
    for (const clients of CLIENT_COUNTS) {
      const acc = runs.map(() => ({
        parts: [] as LoadResult[],
        backendCpuMs: 0,
        keycloakCpuS: 0,
        wallMs: 0,
      }));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, [, backend, providerId, cookies]] of runs.entries()) {
          const backendCpu = cpuTimeOf(backend.pid!);
          const keycloakCpu = keycloak.cpuSeconds();
          const started = Date.now();
          acc[i].parts.push(
            await refreshLoad({
              authUrl: auth(backend, providerId),
              providerId,
              cookies,
              concurrency: clients,
              durationMs: REFRESH_MS / ROUNDS,
              warmupMs: 500,
            }),
          );
          const wallMs = Date.now() - started;
          acc[i].backendCpuMs += cpuTimeOf(backend.pid!) - backendCpu;
          acc[i].keycloakCpuS +=
            keycloak.cpuSeconds() - keycloakCpu - idleCpuPerMs * wallMs;
          acc[i].wallMs += wallMs;
        }
      }
      const perRefresh: number[] = [];
      runs.forEach(([scenario], i) => {
        const load = mergeLoads(acc[i].parts);
        // warm-up requests count too: Keycloak served them in the window
        const refreshes = load.count;
        perRefresh[i] = acc[i].keycloakCpuS / refreshes;
        rows.push({
          scenario,
          clients,
          refreshes,
          opsPerSecond: load.opsPerSecond,
          p50: load.p50,
          p95: load.p95,
          p99: load.p99,
          errors: load.errors,
          backendCpuPercent: (acc[i].backendCpuMs / acc[i].wallMs) * 100,
          keycloakCpuSecondsPer1000: Math.max(0, perRefresh[i] * 1000),
        });
      });
      headline[clients] = {
        keycloakPath: perRefresh[0] / perRefresh[1],
        fastPath: Math.max(0, perRefresh[2]) / perRefresh[1],
      };
    }

    const mixRuns: [string, BackendProcess, string, string[]][] = [
      ['ours', backends.mix, 'keycloak-oidc', ours],
      ['upstream oidc', backends.keycloakPath, 'oidc', upstream],
    ];
    const mixAcc = mixRuns.map(() => ({ refreshes: 0, errors: 0, cpuS: 0 }));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, [, backend, providerId, cookies]] of mixRuns.entries()) {
        const keycloakCpu = keycloak.cpuSeconds();
        const started = Date.now();
        const { refreshes, errors } = await pageLoadMix({
          authUrl: auth(backend, providerId),
          providerId,
          cookies,
          durationMs: MIX.durationMs / ROUNDS,
          thinkMs: MIX.thinkMs,
          secondTab: MIX.secondTab,
        });
        mixAcc[i].refreshes += refreshes;
        mixAcc[i].errors += errors;
        mixAcc[i].cpuS +=
          keycloak.cpuSeconds() -
          keycloakCpu -
          idleCpuPerMs * (Date.now() - started);
      }
    }
    const mix = mixRuns.map(([scenario], i) => ({
      scenario,
      users: SESSIONS,
      refreshes: mixAcc[i].refreshes,
      errors: mixAcc[i].errors,
      keycloakCpuSecondsPer1000: Math.max(
        0,
        (mixAcc[i].cpuS / mixAcc[i].refreshes) * 1000,
      ),
    }));
    const result: KeycloakBenchResult = {
      keycloakVersion: keycloak.version,
      keycloakBootMs: keycloak.bootTimesMs[0],
      keycloakIdleCpuPercent: idleCpuPerMs * 1000 * 100,
      rows,
      mix,
      mixRatio:
        mix[0].keycloakCpuSecondsPer1000 / mix[1].keycloakCpuSecondsPer1000,
      headline,
    };
    return { result, markdown: toMarkdown(result) };
  } finally {
    await Promise.all(Object.values(backends).map(b => b.dispose()));
    await redisServer.dispose();
    await keycloak.dispose();
  }
}

function toMarkdown(r: KeycloakBenchResult): string {
  const pct = (v: number) => `${v.toFixed(0)}%`;
  return [
    `Keycloak ${r.keycloakVersion} (\`kc.sh start-dev\`, H2, booted in ${(r.keycloakBootMs / 1000).toFixed(1)} s; idle it used ${r.keycloakIdleCpuPercent.toFixed(1)}% of a core, subtracted below). ` +
      'Each client is one browser with its own session; the Keycloak path and upstream call Keycloak on every refresh ' +
      '(ours: one refresh grant; upstream: a refresh grant and a userinfo call); the fast path calls it only when the ' +
      'session was last confirmed more than `keycloakCheckInterval` (60 s) ago.',
    '',
    markdownTable(
      [
        'scenario',
        'clients',
        'refreshes',
        'ops/s',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'errors',
        'backend CPU',
        'Keycloak CPU s / 1,000 refreshes',
      ],
      r.rows.map(row => [
        `/refresh: ${row.scenario}`,
        row.clients,
        row.refreshes,
        row.opsPerSecond.toFixed(0),
        ms(row.p50),
        ms(row.p95),
        ms(row.p99),
        row.errors,
        pct(row.backendCpuPercent),
        row.keycloakCpuSecondsPer1000.toFixed(2),
      ]),
    ),
    '',
    `Headline, Keycloak CPU per refresh, ours / upstream oidc: ${Object.entries(
      r.headline,
    )
      .map(
        ([clients, h]) =>
          `${h.keycloakPath.toFixed(2)}× on the Keycloak path and ${h.fastPath.toFixed(2)}× on the fast path at ${clients} client(s)`,
      )
      .join('; ')}.`,
    '',
    `The realistic mix: ${SESSIONS} browsers of 3 users, time compressed 10×: a page load (one \`/refresh\`) every ${
      MIX.thinkMs[0] / 1000
    } to ${MIX.thinkMs[1] / 1000} s per browser, one in ${Math.round(
      1 / MIX.secondTab,
    )} with a second tab refreshing at the same moment, for ${
      MIX.durationMs / 1000
    } s; ours with \`keycloakCheckInterval\` ${MIX.keycloakCheckIntervalSeconds} s (60 s compressed).`,
    '',
    markdownTable(
      [
        'realistic mix',
        'browsers',
        'refreshes',
        'errors',
        'Keycloak CPU s / 1,000 refreshes',
      ],
      r.mix.map(row => [
        row.scenario,
        row.users,
        row.refreshes,
        row.errors,
        row.keycloakCpuSecondsPer1000.toFixed(2),
      ]),
    ),
    '',
    `Headline, Keycloak CPU per refresh in the realistic mix, ours / upstream oidc: ${r.mixRatio.toFixed(2)}×.`,
  ].join('\n');
}
