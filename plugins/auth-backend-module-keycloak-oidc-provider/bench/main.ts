/*
 * `yarn bench [redis]`: benchmarks against real redis-server, dev IdP and
 * Backstage backend processes on this machine. Prints Markdown tables and
 * writes them, with the raw numbers, under docs/benchmarks/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { benchRedisDurability } from './redisDurability';

const DOCS = resolve(__dirname, '../../../docs/benchmarks');

const benches: Record<
  string,
  () => Promise<{ result: unknown; markdown: string }>
> = {
  redis: benchRedisDurability,
};

async function main() {
  const selected = process.argv.slice(2);
  const names = selected.length ? selected : Object.keys(benches);
  for (const name of names) {
    if (!benches[name]) {
      throw new Error(
        `unknown benchmark '${name}'; available: ${Object.keys(benches).join(', ')}`,
      );
    }
  }
  mkdirSync(DOCS, { recursive: true });
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`;
  for (const name of names) {
    const startedAt = new Date();
    const { result, markdown } = await benches[name]();
    const page = [
      `# Benchmark: ${name}`,
      '',
      `Run ${startedAt.toISOString()} with \`yarn bench ${name}\` on ${machine}.`,
      '',
      markdown,
      '',
    ].join('\n');
    // eslint-disable-next-line no-console
    console.log(`\n${page}`);
    writeFileSync(join(DOCS, `${name}.md`), page);
    writeFileSync(
      join(DOCS, `${name}.json`),
      `${JSON.stringify({ startedAt, machine, result }, null, 2)}\n`,
    );
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
