/*
 * `yarn test:compat`: the module (and the frontend package) in an app that
 * `@backstage/create-app` generates today, the way a user installs them.
 *
 *   1. generate an app with `npx @backstage/create-app@<latest>`
 *   2. build and `yarn pack` the publishable packages from this checkout
 *   3. make the README's changes to the app (dependency, `backend.add`
 *      line, app-config.yaml) and count them with `git diff --numstat`
 *   4. `yarn install`, `yarn tsc`, build packages/app
 *   5. start redis-server, the dev IdP and the app's backend (serving the
 *      built app), sign in through Chromium and find the provider under
 *      Settings -> Authentication Providers
 *
 * Needs the npm registry, redis-server and Chromium; no other network.
 * Exits non-zero on any failure; every process it started is stopped.
 * Environment: COMPAT_CREATE_APP_VERSION (default: npm's latest),
 * COMPAT_FRONTEND_SOURCE (default: this checkout; `git:<dir>#<ref>` packs
 * the frontend package from another checkout's ref; `off` leaves the
 * frontend out and the check fails as incomplete), COMPAT_KEEP=1 keeps the
 * work directory, COMPAT_ARTIFACTS (default test-results/compat).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort, RedisServer } from '@redis-session/test-support';
import { DevIdp } from '../fixtures/DevIdp';
import {
  cleanEnv,
  cleanUp,
  onCleanup,
  run,
  startServer,
  tail,
} from './processes';
import { signInStory } from './signInStory';
import {
  applyUserChanges,
  countLines,
  FRONTEND_PACKAGE,
  MODULE_PACKAGE,
  type LineCount,
} from './userChanges';

const REPO = resolve(__dirname, '../../../..');
const MODULE_DIR = 'plugins/auth-backend-module-keycloak-oidc-provider';
const FRONTEND_DIR = 'plugins/auth-keycloak-oidc-react';
const ARTIFACTS = resolve(
  process.env.COMPAT_ARTIFACTS ?? join(REPO, 'test-results/compat'),
);
const MINUTE = 60_000;
/** Libraries whose copies the module, the frontend package and the app must share */
const SHARED_LIBRARIES = [
  '@backstage/backend-plugin-api',
  '@backstage/plugin-auth-node',
  '@backstage/frontend-plugin-api',
  '@backstage/core-plugin-api',
  '@backstage/core-components',
  '@backstage/plugin-user-settings',
];
/** The backend module's peer dependencies: exactly one copy, the app's */
const SINGLETONS = [
  '@backstage/backend-plugin-api',
  '@backstage/plugin-auth-node',
];

const timings: Array<[string, number]> = [];

async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  process.stdout.write(`\n== ${name}\n`);
  try {
    return await fn();
  } finally {
    const ms = Date.now() - start;
    timings.push([name, ms]);
    process.stdout.write(`   ${name}: ${(ms / 1000).toFixed(1)} s\n`);
  }
}

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 'compat check',
  GIT_AUTHOR_EMAIL: 'compat@example.invalid',
  GIT_COMMITTER_NAME: 'compat check',
  GIT_COMMITTER_EMAIL: 'compat@example.invalid',
};

function git(cwd: string, ...args: string[]) {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: cleanEnv(GIT_IDENTITY),
  });
}

function preflight() {
  const missing: string[] = [];
  for (const command of ['redis-server', 'npx', 'corepack', 'git']) {
    try {
      execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    } catch {
      missing.push(command);
    }
  }
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) missing.push(chromium);
  if (missing.length > 0) {
    throw new Error(`missing: ${missing.join(', ')}`);
  }
}

type FrontendSource =
  | { kind: 'here' }
  | { kind: 'git'; dir: string; ref: string }
  | { kind: 'dir'; dir: string }
  | { kind: 'off' };

function frontendSource(): FrontendSource {
  const value = process.env.COMPAT_FRONTEND_SOURCE ?? 'here';
  if (value === 'here') return { kind: 'here' };
  if (value === 'off') return { kind: 'off' };
  if (value.startsWith('dir:')) return { kind: 'dir', dir: value.slice(4) };
  const m = /^git:(.+)#(.+)$/.exec(value);
  if (!m) {
    throw new Error(
      `COMPAT_FRONTEND_SOURCE=${value}: expected here, off, git:<dir>#<ref> or dir:<dir>`,
    );
  }
  return { kind: 'git', dir: m[1], ref: m[2] };
}

async function main() {
  preflight();
  const frontend = frontendSource();
  mkdirSync(ARTIFACTS, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'compat-'));
  const logs = join(ARTIFACTS, 'logs');
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });
  onCleanup(() => {
    if (process.env.COMPAT_KEEP) {
      process.stdout.write(`kept the work directory ${work}\n`);
    } else {
      rmSync(work, { recursive: true, force: true });
    }
  });
  process.stdout.write(`work directory ${work}, logs ${logs}\n`);

  // `yarn` as a user has it: corepack, honouring each project's
  // packageManager (the generated app pins its own Yarn)
  const bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'yarn'),
    [
      '#!/usr/bin/env bash',
      'export COREPACK_ENABLE_DOWNLOAD_PROMPT=0',
      // outside a project corepack would fetch the "latest" Yarn and check
      // its signature, which some registries' metadata cannot satisfy
      'export COREPACK_DEFAULT_TO_LATEST=0',
      'exec corepack yarn "$@"',
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'yarn'), 0o755);
  const env = cleanEnv({
    ...GIT_IDENTITY,
    PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH}`,
    COREPACK_NPM_REGISTRY:
      process.env.COREPACK_NPM_REGISTRY ??
      execFileSync('npm', ['config', 'get', 'registry'], {
        cwd: '/',
        encoding: 'utf8',
      })
        .trim()
        .replace(/\/+$/, ''),
    // no telemetry, no prompts, no colours in the logs
    CI: 'true',
    FORCE_COLOR: '0',
  });

  // 1. generate
  const createAppVersion =
    process.env.COMPAT_CREATE_APP_VERSION ??
    execFileSync('npm', ['view', '@backstage/create-app', 'version'], {
      cwd: '/',
      encoding: 'utf8',
    }).trim();
  const appDir = join(work, 'app');
  await phase('generate', () =>
    run(
      'npx',
      [
        '--yes',
        `@backstage/create-app@${createAppVersion}`,
        '--path',
        appDir,
        '--skip-install',
      ],
      {
        cwd: work,
        env: { ...env, BACKSTAGE_APP_NAME: 'compat-app' },
        log: join(logs, 'generate.log'),
        timeoutMs: 10 * MINUTE,
      },
    ),
  );
  const release = JSON.parse(
    readFileSync(join(appDir, 'backstage.json'), 'utf8'),
  ).version as string;
  process.stdout.write(
    `   @backstage/create-app@${createAppVersion} generated Backstage ${release}\n`,
  );
  // create-app commits the template when git has an identity; the diff
  // below needs that baseline
  if (!existsSync(join(appDir, '.git'))) {
    git(appDir, 'init', '-q');
    git(appDir, 'add', '-A');
    git(appDir, 'commit', '-qm', 'generated by @backstage/create-app');
  }
  const dependencies = process.env.COMPAT_DEPENDENCIES ?? 'release';
  if (dependencies === 'release') {
    const pinned = pinReleaseVersions(appDir);
    git(appDir, 'add', '-A');
    git(
      appDir,
      'commit',
      '-qm',
      'the release versions create-app wrote, exactly',
    );
    process.stdout.write(
      `   pinned the ${pinned} @backstage/* dependencies of packages/backend to the versions create-app wrote, as root resolutions (COMPAT_DEPENDENCIES=latest leaves their ^ ranges)\n`,
    );
  } else if (dependencies !== 'latest') {
    throw new Error(
      `COMPAT_DEPENDENCIES=${dependencies}: expected release or latest`,
    );
  }

  // 2. pack from source
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const packed = await phase('pack', async () => {
    const yarnHere = (args: string[], cwd = REPO, log = 'pack.log') =>
      run(join(REPO, 'scripts/yarn.sh'), args, {
        cwd,
        env,
        log: join(logs, log),
        timeoutMs: 20 * MINUTE,
      });
    // type declarations first (dist-types), then each package's build;
    // `yarn pack` runs prepack (publishConfig) and postpack
    const packHere = async (root: string, dir: string, file: string) => {
      const out = join(tarballs, file);
      await yarnHere(['build'], join(root, dir));
      await yarnHere(['pack', '--out', out], join(root, dir));
      return out;
    };
    await yarnHere(['tsc']);
    const module = await packHere(REPO, MODULE_DIR, 'module.tgz');
    let frontendTgz: string | undefined;
    if (frontend.kind === 'here') {
      if (!existsSync(join(REPO, FRONTEND_DIR, 'package.json'))) {
        throw new Error(
          `${FRONTEND_DIR} does not exist in this checkout: the frontend package is part of the check (COMPAT_FRONTEND_SOURCE=git:<dir>#<ref> packs it from another checkout)`,
        );
      }
      frontendTgz = await packHere(REPO, FRONTEND_DIR, 'frontend.tgz');
    } else if (frontend.kind === 'git' || frontend.kind === 'dir') {
      // a copy of the other checkout (its ref, or its working tree as it
      // is), installed and built there; the checkout itself is only read
      const copy = join(work, 'frontend-src');
      mkdirSync(copy);
      execFileSync(
        'sh',
        [
          '-c',
          frontend.kind === 'git'
            ? 'git -C "$0" archive "$1" | tar -x -C "$2"'
            : 'tar -C "$0" -c --exclude=node_modules --exclude=dist --exclude=dist-types --exclude=.git --exclude=./.yarn --exclude=./test-results . | tar -x -C "$2"',
          frontend.dir,
          frontend.kind === 'git' ? frontend.ref : '',
          copy,
        ],
        { stdio: 'inherit' },
      );
      if (!existsSync(join(copy, FRONTEND_DIR, 'package.json'))) {
        throw new Error(
          `${frontend.dir} ${
            frontend.kind === 'git' ? `at ${frontend.ref} ` : ''
          }has no ${FRONTEND_DIR}/package.json`,
        );
      }
      // (no native builds: nothing runs there but tsc and the bundler)
      await yarnHere(
        ['install', '--immutable', '--mode=skip-build'],
        copy,
        'pack-frontend.log',
      );
      await yarnHere(['tsc'], copy, 'pack-frontend.log');
      await yarnHere(['build'], join(copy, FRONTEND_DIR), 'pack-frontend.log');
      frontendTgz = join(tarballs, 'frontend.tgz');
      await yarnHere(
        ['pack', '--out', frontendTgz],
        join(copy, FRONTEND_DIR),
        'pack-frontend.log',
      );
    }
    return { module, frontend: frontendTgz };
  });
  for (const tgz of Object.values(packed)) {
    if (tgz) {
      const listing = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' });
      writeFileSync(join(logs, `${tgz.split('/').pop()}.txt`), listing);
    }
  }

  // 3. the user's changes, counted
  applyUserChanges(appDir, packed, {
    usersCatalogFile: join(REPO, 'examples/org.yaml'),
  });
  git(appDir, 'add', '-A');
  const numstat = git(appDir, 'diff', '--cached', '--numstat');
  const diff = git(appDir, 'diff', '--cached');
  writeFileSync(join(ARTIFACTS, 'user-changes.diff'), diff);
  const counts = countLines(numstat, diff);
  git(appDir, 'commit', '-qm', 'the README install steps');

  // 4. install and build
  const appRun = (args: string[], log: string, timeoutMs = 30 * MINUTE) =>
    run(join(bin, 'yarn'), args, {
      cwd: appDir,
      // Yarn makes CI installs immutable; this one is the user's first
      env: { ...env, YARN_ENABLE_IMMUTABLE_INSTALLS: 'false' },
      log: join(logs, log),
      timeoutMs,
    });
  await phase('install', () => appRun(['install'], 'install.log'));
  // one copy of each shared library, or which versions the packages pulled in
  const copies: Record<string, string[]> = {};
  for (const pkg of SHARED_LIBRARIES) {
    const why = execFileSync(join(bin, 'yarn'), ['why', pkg], {
      cwd: appDir,
      env,
      encoding: 'utf8',
      timeout: 2 * MINUTE,
    });
    writeFileSync(join(logs, 'why.log'), `$ yarn why ${pkg}\n${why}\n`, {
      flag: 'a',
    });
    const versions = new Set<string>();
    const escaped = pkg.replace(/[/@.-]/g, c => `\\${c}`);
    for (const m of why.matchAll(
      new RegExp(`${escaped}@npm:(\\d+\\.\\d+\\.\\d+[^\\s,)]*)`, 'g'),
    )) {
      versions.add(m[1]);
    }
    copies[pkg] = [...versions].sort();
  }
  // The module's peer dependencies exist so that an app keeps one copy of
  // each: two would mean the packed module brought its own.
  for (const pkg of SINGLETONS) {
    if ((copies[pkg] ?? []).length !== 1) {
      throw new Error(
        `${pkg}: expected one copy in the app, found ${copies[pkg]?.join(', ') || 'none'} (logs/why.log)`,
      );
    }
  }
  await phase('tsc', () => appRun(['tsc'], 'tsc.log'));
  await phase('build app', () =>
    appRun(['workspace', 'app', 'build'], 'build.log'),
  );

  // 5. run it and sign in
  await phase('sign-in', async () => {
    const redis = await RedisServer.start();
    onCleanup(() => redis.dispose());
    const idp = await DevIdp.start();
    onCleanup(() => idp.stop());
    const port = await freePort();
    const url = `http://localhost:${port}`;
    const serviceToken = randomBytes(24).toString('base64url');
    const runConfig = join(work, 'app-config.run.yaml');
    // the harness's own: one origin on a free port (the backend serves the
    // built app), a token to ask the catalog when it is ready
    writeFileSync(
      runConfig,
      JSON.stringify({
        app: { baseUrl: url },
        backend: {
          baseUrl: url,
          listen: { port },
          cors: { origin: url },
          auth: {
            externalAccess: [
              {
                type: 'static',
                options: { token: serviceToken, subject: 'compat-check' },
              },
            ],
          },
        },
      }),
    );
    await startServer(
      process.execPath,
      [
        '--require',
        '@backstage/cli/config/nodeTransform.cjs',
        'src/index.ts',
        '--config',
        '../../app-config.yaml',
        '--config',
        runConfig,
      ],
      {
        cwd: join(appDir, 'packages/backend'),
        env: {
          ...env,
          NODE_ENV: 'development',
          REDIS_URL: redis.url,
          KEYCLOAK_METADATA_URL: idp.issuer,
          KEYCLOAK_CLIENT_SECRET: 'backstage-dev-secret',
        },
        log: join(logs, 'backend.log'),
        readyText: 'Plugin initialization complete',
        failText: 'Backend startup failed',
        timeoutMs: 3 * MINUTE,
      },
    );
    await waitForCatalogUser(
      url,
      serviceToken,
      'alice',
      join(logs, 'backend.log'),
    );
    if (frontend.kind === 'off') {
      // the backend half only: the provider's routes answer
      const res = await fetch(
        `${url}/api/auth/keycloak-oidc/start?env=development&scope=openid`,
        { redirect: 'manual' },
      );
      const location = res.headers.get('location') ?? '';
      if (res.status !== 302 || !location.startsWith(idp.issuer)) {
        throw new Error(
          `/api/auth/keycloak-oidc/start answered ${res.status} ${location}`,
        );
      }
      return;
    }
    await signInStory({
      appUrl: url,
      user: 'alice',
      displayName: 'Alice Adams',
      screenshots: ARTIFACTS,
    });
  });

  report({
    createAppVersion,
    release,
    counts,
    copies,
    frontend: frontend.kind,
  });
  if (frontend.kind === 'off') {
    throw new Error(
      'INCOMPLETE: COMPAT_FRONTEND_SOURCE=off left the frontend package out; only the backend half was checked',
    );
  }
}

/**
 * create-app writes `^<version of its release>` for every @backstage
 * package, and its yarn.lock seed (from GitHub, unreachable here; it pins
 * only @swc/core anyway) does not hold them back, so once the next
 * release's packages are on npm a fresh app mixes releases: on
 * 2026-12-02 Backstage 1.55.0's `@backstage/backend-defaults@^0.18.0`
 * with `@backstage/plugin-signals-backend@0.3.21`, which needs 0.19's
 * `httpRouter.addWebSocketHandler`, and the generated backend does not
 * start, with or without this module. The backend's direct dependencies
 * at exactly the versions create-app wrote give the backend its release
 * meant (as resolutions); the frontend keeps its ranges (exact pins there would split
 * shared libraries like core-plugin-api into copies no user has), and the
 * packages under test float on their own ranges.
 */
function pinReleaseVersions(appDir: string) {
  const backend = JSON.parse(
    readFileSync(join(appDir, 'packages/backend/package.json'), 'utf8'),
  );
  const release: Record<string, string> = {};
  for (const [name, range] of Object.entries<string>(
    backend.dependencies ?? {},
  )) {
    if (name.startsWith('@backstage/') && /^\^\d/.test(range)) {
      release[name] = range.slice(1);
    }
  }
  // As resolutions, not as exact versions in packages/backend: every
  // dependent then gets the release's version, as a lockfile made on the
  // release day would give it (an exact version in the backend alone left
  // plugin-auth-backend's `^0.7.6` free to pull plugin-auth-node 0.7.8 in
  // next to the backend's 0.7.6).
  const rootFile = join(appDir, 'package.json');
  const root = JSON.parse(readFileSync(rootFile, 'utf8'));
  root.resolutions = { ...root.resolutions, ...release };
  writeFileSync(rootFile, `${JSON.stringify(root, null, 2)}\n`);
  return Object.keys(release).length;
}

async function waitForCatalogUser(
  url: string,
  token: string,
  name: string,
  backendLog: string,
) {
  for (let i = 0; i < 240; i++) {
    if (readFileSync(backendLog, 'utf8').includes('Backend startup failed')) {
      throw new Error(
        `the generated backend failed to start:\n${tail(backendLog, 30)}`,
      );
    }
    const res = await fetch(
      `${url}/api/catalog/entities/by-name/user/default/${name}`,
      { headers: { authorization: `Bearer ${token}` } },
    ).catch(() => undefined);
    if (res?.ok) return;
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error(`the catalog at ${url} never had user ${name}`);
}

function report(r: {
  createAppVersion: string;
  release: string;
  counts: LineCount[];
  copies: Record<string, string[]>;
  frontend: string;
}) {
  const sum = (kind: LineCount['kind']) =>
    r.counts
      .filter(c => c.kind === kind)
      .reduce((n, c) => n + c.added + c.removed, 0);
  const out: string[] = [
    '',
    '== compatibility check',
    `@backstage/create-app ${r.createAppVersion}, Backstage release ${r.release} (backstage.json)`,
    `module ${MODULE_PACKAGE}, frontend ${
      r.frontend === 'off' ? '(left out)' : FRONTEND_PACKAGE
    }`,
    '',
    'lines the user wrote (git diff --numstat of the generated app, yarn.lock left out):',
  ];
  for (const c of r.counts) {
    out.push(`  ${c.kind.padEnd(10)} +${c.added} -${c.removed}  ${c.file}`);
    for (const line of c.lines) out.push(`      + ${line}`);
  }
  out.push(
    `  total: code ${sum('code')}, dependency ${sum('dependency')}, config ${sum('config')}`,
    '',
    'versions installed in the app (yarn why; more than one is a duplicate copy):',
    ...Object.entries(r.copies).map(
      ([pkg, versions]) =>
        `  ${pkg.padEnd(34)} ${versions.join(', ') || '(none)'}`,
    ),
    '',
    'timings:',
    ...timings.map(
      ([name, ms]) => `  ${name.padEnd(10)} ${(ms / 1000).toFixed(1)} s`,
    ),
  );
  const text = out.join('\n');
  process.stdout.write(`${text}\n`);
  writeFileSync(join(ARTIFACTS, 'summary.txt'), `${text}\n`);
}

let exiting = false;
function stopOn(signal: NodeJS.Signals) {
  if (exiting) return;
  exiting = true;
  process.stderr.write(`\n${signal}: stopping everything\n`);
  cleanUp().finally(() => process.exit(130));
}
process.on('SIGINT', stopOn);
process.on('SIGTERM', stopOn);

main().then(
  async () => {
    await cleanUp();
    process.stdout.write('\ncompatibility check passed\n');
    process.exit(0);
  },
  async error => {
    process.stderr.write(
      `\ncompatibility check FAILED: ${error?.stack ?? error}\n`,
    );
    if (timings.length) {
      process.stderr.write(
        `timings so far: ${timings.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(1)} s`).join(', ')}\n`,
      );
    }
    process.stderr.write(`logs and screenshots: ${ARTIFACTS}\n`);
    await cleanUp();
    process.exit(1);
  },
);
