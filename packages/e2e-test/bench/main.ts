/*
 * `yarn bench [sessions|redis|keycloak]`: benchmarks against real
 * redis-server, dev IdP (or real Keycloak) and Backstage backend processes
 * on this machine. Prints Markdown tables and
 * writes them, with the raw numbers, under docs/benchmarks/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { goalsMarkdown, goalsOf } from './goals';
import { benchKeycloak, type KeycloakBenchResult } from './keycloak';
import { benchProfile } from './profile';
import { benchRedisDurability } from './redisDurability';
import { benchSessions, type SessionsBenchResult } from './sessions';

const DOCS = resolve(__dirname, '../../../docs');

/** Each benchmark, and where its page and raw numbers go under docs/. */
const benches: Record<
  string,
  {
    run: () => Promise<{ result: unknown; markdown: string }>;
    page: string;
    /** run only when named */
    onlyWhenNamed?: boolean;
  }
> = {
  // the side-by-side: the Redis floor, our store at 50k sessions, /refresh
  // against Backstage's own oidc provider, logins, memory
  sessions: { run: benchSessions, page: 'benchmarks.md' },
  redis: { run: benchRedisDurability, page: 'benchmarks/redis.md' },
  // real Keycloak (KEYCLOAK_HOME): its CPU per refresh, ours vs upstream
  keycloak: { run: benchKeycloak, page: 'benchmarks/keycloak.md' },
  // where a /refresh spends the backend's CPU (not run by default)
  profile: {
    run: benchProfile,
    page: 'benchmarks/profile.md',
    onlyWhenNamed: true,
  },
};

async function main() {
  const selected = process.argv.slice(2);
  const names = selected.length
    ? selected
    : Object.keys(benches).filter(name => !benches[name].onlyWhenNamed);
  for (const name of names) {
    if (!benches[name]) {
      throw new Error(
        `unknown benchmark '${name}'; available: ${Object.keys(benches).join(', ')}`,
      );
    }
  }
  mkdirSync(join(DOCS, 'benchmarks'), { recursive: true });
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`;
  const runs: Record<
    string,
    { startedAt: Date; result: unknown; markdown: string }
  > = {};
  for (const name of names) {
    const startedAt = new Date();
    runs[name] = { startedAt, ...(await benches[name].run()) };
  }
  // every goal as a ratio, from whatever ran; it heads the sessions page
  const goals = goalsOf({
    sessions: runs.sessions?.result as SessionsBenchResult | undefined,
    keycloak: runs.keycloak?.result as KeycloakBenchResult | undefined,
  });
  for (const [name, { startedAt, result, markdown }] of Object.entries(runs)) {
    const page = [
      `# Benchmark: ${name}`,
      '',
      `Run ${startedAt.toISOString()} with \`yarn bench ${names.join(' ')}\` on ${machine}.`,
      '',
      ...(name === 'sessions'
        ? [
            '## Goals (issue 16), from this run',
            '',
            goalsMarkdown(goals),
            '',
            '## Measurements',
            '',
          ]
        : []),
      markdown,
      '',
    ].join('\n');
    // eslint-disable-next-line no-console
    console.log(`\n${page}`);
    const pagePath = join(DOCS, benches[name].page);
    writeFileSync(pagePath, page);
    writeFileSync(
      pagePath.replace(/\.md$/, '.json'),
      `${JSON.stringify(
        { startedAt, machine, result, ...(name === 'sessions' && { goals }) },
        // raw latency samples stay out of the file
        (key, value) => (key === 'raw' ? undefined : value),
        2,
      )}\n`,
    );
  }
  if (!runs.sessions && goals.length > 1) {
    // eslint-disable-next-line no-console
    console.log(`\n## Goals measured in this run\n\n${goalsMarkdown(goals)}`);
  }
}

main().then(
  // Backstage test backends leave timers behind; the numbers are written.
  () => process.exit(0),
  error => {
    // eslint-disable-next-line no-console
    console.error(error);
    process.exit(1);
  },
);
