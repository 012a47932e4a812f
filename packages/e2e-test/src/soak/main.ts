/*
 * `yarn soak [--browsers 200] [--minutes 10] [--idp dev|keycloak]`: the
 * resilience soak (issue 15) on this machine. Prints the report and writes
 * docs/resilience.md and .json (docs/resilience-keycloak.* with a real
 * Keycloak from KEYCLOAK_HOME); exits 1 when the run breaks an acceptance
 * figure.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runSoak } from './runSoak';
import { soakMarkdown } from './soakReport';
import { soakSettings } from './soakSettings';

const DOCS = resolve(__dirname, '../../../../docs');

async function main() {
  const { values } = parseArgs({
    options: {
      browsers: { type: 'string', default: '200' },
      minutes: { type: 'string', default: '10' },
      out: { type: 'string', default: 'docs' },
      logs: { type: 'string' },
      idp: { type: 'string', default: 'dev' },
    },
  });
  const browsers = Number(values.browsers);
  const minutes = Number(values.minutes);
  if (!(browsers >= 1) || !(minutes > 0)) {
    throw new Error('--browsers and --minutes must be positive numbers');
  }
  if (values.out !== 'docs' && values.out !== 'none') {
    throw new Error(
      `--out is 'docs' (write docs/resilience.md and .json) or 'none', not '${values.out}'`,
    );
  }
  const startedAt = new Date();
  if (values.idp !== 'dev' && values.idp !== 'keycloak') {
    throw new Error(
      `--idp is 'dev' (the dev IdP) or 'keycloak' (a real Keycloak from KEYCLOAK_HOME), not '${values.idp}'`,
    );
  }
  const settings = soakSettings({ browsers, minutes, idp: values.idp });
  const logDir =
    values.logs ??
    join(
      tmpdir(),
      `keycloak-oidc-soak-${startedAt.toISOString().replace(/[:.]/g, '-')}`,
    );
  const report = await runSoak({
    ...settings,
    logDir,
    // eslint-disable-next-line no-console
    log: line => console.log(`[soak ${new Date().toISOString()}] ${line}`),
  });
  const versions = {
    node: process.version,
    redis: execFileSync('redis-server', ['--version'], { encoding: 'utf8' })
      .trim()
      .replace(/^Redis server /, ''),
    machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'})`,
  };
  const command = `yarn soak --browsers ${browsers} --minutes ${minutes}${
    values.idp === 'keycloak' ? ' --idp keycloak' : ''
  }`;
  const page = [
    '# Resilience soak',
    '',
    `Run ${startedAt.toISOString()} with \`${command}\` on ${versions.machine}, Node ${versions.node}, Redis ${versions.redis}; ${report.idp}. What it runs and how to read it: [operations.md](operations.md#resilience-soak).`,
    '',
    soakMarkdown(report),
    '',
  ].join('\n');
  // eslint-disable-next-line no-console
  console.log(`\n${page}\nBackend and IdP logs: ${logDir}`);
  if (values.out === 'docs') {
    // the dev IdP's run is the reference; a real Keycloak's goes beside it
    const name =
      values.idp === 'keycloak' ? 'resilience-keycloak' : 'resilience';
    writeFileSync(resolve(DOCS, `${name}.md`), page);
    writeFileSync(
      resolve(DOCS, `${name}.json`),
      `${JSON.stringify({ startedAt, command, versions, settings: { ...settings }, report }, null, 2)}\n`,
    );
  }
  return report.violations.length ? 1 : 0;
}

main().then(
  code => process.exit(code),
  error => {
    // eslint-disable-next-line no-console
    console.error(error);
    process.exit(1);
  },
);
