import {
  RedisServer,
  freePort,
  markdownTable,
} from '@redis-session/test-support';
import { BackendProcess } from '../../src/fixtures/BackendProcess';
import { Browser } from '../../src/fixtures/Browser';
import { DevIdp } from '../../src/fixtures/DevIdp';
import { signIn } from '../../src/fixtures/signIn';
import type { DevUserName } from '../../src/fixtures/users';
import { benchBackendConfig } from '../benchBackendConfig';
import { refreshLoad } from '../sessions/refreshLoad';
import { InspectorProfiler } from './InspectorProfiler';
import {
  inclusiveMsPerOp,
  profileBreakdown,
  type ProfileRow,
} from './profileBreakdown';

const CLIENTS = 16;
const PROFILE_MS = Number(process.env.BENCH_PROFILE_MS ?? 10_000);
const USERS: DevUserName[] = ['alice', 'bob', 'carol'];

/**
 * Functions whose synchronous stacks show what a refresh spends on: the
 * sign-in resolver's catalog lookup and ownership, the Backstage token,
 * the user_info upsert, our store read, the route handler.
 */
const MARKERS = [
  'findCatalogUser',
  'resolveOwnershipEntityRefs',
  'issueToken',
  'addUserInfo',
  'readForRefresh',
  'refresh',
];

export interface ProfiledLoad {
  scenario: string;
  clients: number;
  /** refreshes or logins made while sampling */
  operations: number;
  opsPerSecond: number;
  /** backend CPU ms per operation, from the profile's busy samples */
  cpuMsPerOperation: number;
  rows: ProfileRow[];
  markers: Record<string, number>;
}

/** A backend process that can be profiled through its inspector port. */
export async function profiledBackend(
  config: Parameters<typeof BackendProcess.create>[0],
) {
  const inspectPort = await freePort();
  const backend = await BackendProcess.create(config, {
    nodeArgs: [`--inspect=127.0.0.1:${inspectPort}`],
  });
  return { backend, inspectPort };
}

/**
 * Runs `load` while the backend behind `inspectPort` is sampled, and
 * breaks the backend's CPU down per operation `load` reports it made.
 */
async function sampled(
  scenario: { scenario: string; clients: number; inspectPort: number },
  load: () => Promise<{ operations: number; wallMs: number }>,
): Promise<ProfiledLoad> {
  const profiler = await InspectorProfiler.attach(scenario.inspectPort);
  try {
    await profiler.start();
    const { operations, wallMs } = await load();
    const profile = await profiler.stop();
    const { rows, msPerOp } = profileBreakdown(profile, operations);
    return {
      scenario: scenario.scenario,
      clients: scenario.clients,
      operations,
      opsPerSecond: (operations / wallMs) * 1000,
      cpuMsPerOperation: msPerOp,
      rows,
      markers: inclusiveMsPerOp(profile, MARKERS, operations),
    };
  } finally {
    profiler.close();
  }
}

/**
 * `/refresh` load on one backend while its CPU is sampled, after an
 * unsampled warm-up: where one refresh's CPU goes, by component.
 */
export async function profileRefreshLoad(options: {
  scenario: string;
  inspectPort: number;
  authUrl: string;
  providerId: string;
  cookies: string[];
  clients?: number;
  durationMs?: number;
}): Promise<ProfiledLoad> {
  const clients = options.clients ?? CLIENTS;
  const load = (durationMs: number) =>
    refreshLoad({
      authUrl: options.authUrl,
      providerId: options.providerId,
      cookies: options.cookies,
      concurrency: clients,
      durationMs,
      warmupMs: 0,
    });
  await load(1_500);
  return sampled({ ...options, clients }, async () => {
    const result = await load(options.durationMs ?? PROFILE_MS);
    return {
      operations: result.raw.samples.length + result.errors,
      wallMs: result.raw.wallMs,
    };
  });
}

/**
 * Logins one after another on one backend while its CPU is sampled: where
 * a login's backend CPU goes (the IdP's login page is another process).
 */
export async function profileLogins(options: {
  scenario: string;
  inspectPort: number;
  authUrl: string;
  providerId: string;
  count?: number;
}): Promise<ProfiledLoad> {
  const count = options.count ?? 40;
  const login = (i: number) =>
    signIn(new Browser(), options.authUrl, USERS[i % USERS.length], {
      providerId: options.providerId,
    });
  await login(0);
  return sampled({ ...options, clients: 1 }, async () => {
    const started = Date.now();
    for (let i = 0; i < count; i++) await login(i);
    return { operations: count, wallMs: Date.now() - started };
  });
}

/** Profiles side by side as Markdown: components by CPU ms per operation. */
export function profilesMarkdown(
  profiles: ProfiledLoad[],
  operation: 'refresh' | 'login' = 'refresh',
): string {
  const components = new Map<string, number>();
  for (const p of profiles) {
    for (const row of p.rows) {
      components.set(
        row.component,
        Math.max(components.get(row.component) ?? 0, row.msPerOp),
      );
    }
  }
  // components under 1% of every profile's CPU are summed into one row
  const shown = [...components.entries()]
    .filter(([name]) =>
      profiles.some(
        p => (p.rows.find(r => r.component === name)?.percent ?? 0) >= 1,
      ),
    )
    .sort((a, b) => b[1] - a[1])
    .map(([name]) => name);
  const cell = (p: ProfiledLoad, names: (name: string) => boolean) => {
    const rows = p.rows.filter(r => names(r.component));
    const ms = rows.reduce((sum, r) => sum + r.msPerOp, 0);
    const pct = rows.reduce((sum, r) => sum + r.percent, 0);
    return `${ms.toFixed(2)} (${pct.toFixed(0)}%)`;
  };
  const header = [
    `backend CPU ms per ${operation} (share)`,
    ...profiles.map(p => `${p.scenario}, ${p.clients} clients`),
  ];
  return [
    markdownTable(header, [
      [
        '**all (busy samples)**',
        ...profiles.map(p => `**${p.cpuMsPerOperation.toFixed(2)}**`),
      ],
      ...shown.map(name => [
        name,
        ...profiles.map(p => cell(p, c => c === name)),
      ]),
      [
        'everything else (each under 1%)',
        ...profiles.map(p => cell(p, c => !shown.includes(c))),
      ],
      [
        `${operation === 'refresh' ? 'refreshes' : 'logins'} profiled (per second)`,
        ...profiles.map(p => `${p.operations} (${p.opsPerSecond.toFixed(0)})`),
      ],
    ]),
    '',
    markdownTable(
      [
        `CPU ms per ${operation} under (synchronous stacks only, a lower bound)`,
        ...profiles.map(p => p.scenario),
      ],
      MARKERS.map(name => [
        `\`${name}\``,
        ...profiles.map(p => p.markers[name].toFixed(3)),
      ]),
    ),
  ].join('\n');
}

/**
 * `yarn bench profile`: where a `/refresh` spends the backend's CPU, our
 * fast path next to Backstage's oidc provider, each on a backend of its
 * own against the dev IdP.
 */
export async function benchProfile(): Promise<{
  result: ProfiledLoad[];
  markdown: string;
}> {
  const redisServer = await RedisServer.start();
  const idp = await DevIdp.start([
    '--jwt-access-tokens',
    '--no-rotate-refresh-tokens',
  ]);
  const session = {
    store: 'redis',
    redis: { url: redisServer.url, prefix: 'backstage:session:' },
    minAccessTokenValidity: 240,
  };
  const ours = await profiledBackend(
    benchBackendConfig({ issuer: idp.issuer, upstream: false, session }),
  );
  const upstream = await profiledBackend(
    benchBackendConfig({ issuer: idp.issuer, upstream: true, session }),
  );
  const keycloakPath = await profiledBackend(
    benchBackendConfig({
      issuer: idp.issuer,
      upstream: false,
      session: { ...session, minAccessTokenValidity: 0 },
    }),
  );
  try {
    await Promise.all(
      [ours, upstream, keycloakPath].map(async ({ backend }) => {
        await backend.start();
        await backend.waitForCatalogUser('alice');
      }),
    );
    const sessions = async (authUrl: string, providerId: string) => {
      const cookies: string[] = [];
      for (let i = 0; i < CLIENTS; i++) {
        cookies.push(
          await signIn(new Browser(), authUrl, USERS[i % USERS.length], {
            providerId,
          }),
        );
      }
      return cookies;
    };
    const oursUrl = `${ours.backend.url}/api/auth/keycloak-oidc`;
    const keycloakPathUrl = `${keycloakPath.backend.url}/api/auth/keycloak-oidc`;
    const upstreamUrl = `${upstream.backend.url}/api/auth/oidc`;
    const result = [
      await profileRefreshLoad({
        scenario: 'ours, fast path',
        inspectPort: ours.inspectPort,
        authUrl: oursUrl,
        providerId: 'keycloak-oidc',
        cookies: await sessions(oursUrl, 'keycloak-oidc'),
      }),
      await profileRefreshLoad({
        scenario: 'ours, IdP path',
        inspectPort: keycloakPath.inspectPort,
        authUrl: keycloakPathUrl,
        providerId: 'keycloak-oidc',
        cookies: await sessions(keycloakPathUrl, 'keycloak-oidc'),
      }),
      await profileRefreshLoad({
        scenario: 'upstream oidc',
        inspectPort: upstream.inspectPort,
        authUrl: upstreamUrl,
        providerId: 'oidc',
        cookies: await sessions(upstreamUrl, 'oidc'),
      }),
    ];
    const logins = [
      await profileLogins({
        scenario: 'ours',
        inspectPort: ours.inspectPort,
        authUrl: oursUrl,
        providerId: 'keycloak-oidc',
      }),
      await profileLogins({
        scenario: 'upstream oidc',
        inspectPort: upstream.inspectPort,
        authUrl: upstreamUrl,
        providerId: 'oidc',
      }),
    ];
    return {
      result: [...result, ...logins],
      markdown: [
        `Each backend sampled every 200 µs through its inspector while ${CLIENTS} clients refreshed for ${
          PROFILE_MS / 1000
        } s (after a warm-up). A sample goes to the package of the innermost frame that belongs to one; "Node:" and "V8" rows are samples with no package on their stack (HTTP parsing, sockets, GC).`,
        '',
        profilesMarkdown(result),
        '',
        profilesMarkdown(logins, 'login'),
      ].join('\n'),
    };
  } finally {
    await Promise.all(
      [ours, upstream, keycloakPath].map(({ backend }) => backend.dispose()),
    );
    await idp.stop();
    await redisServer.dispose();
  }
}
