#!/usr/bin/env node
// `yarn start`: the dev IdP (unless KEYCLOAK_METADATA_URL points at a real
// Keycloak), the example backend and the app's dev server, as
// `backstage-cli repo start` would run the last two, with sessions in the
// local Redis when one answers on 127.0.0.1:6379, in memory otherwise.
//
// Signals, to this process's own PID as well as to its group (Ctrl-C):
// SIGINT, SIGTERM and SIGHUP (the terminal closed) stop every child and free
// every port; SIGUSR2 restarts only the backend (sessions in Redis survive
// it), as nodemon uses it. `yarn start` passes
// SIGTERM on to us but ignores a SIGINT sent to its own PID (yarn's
// execUtils installs a no-op SIGINT handler while a script runs, expecting
// the terminal to signal the whole group), so a service manager that stops
// with SIGINT should run `node scripts/start.mjs` directly.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'node_modules/.bin/backstage-cli');
// app.baseUrl in app-config.yaml, where the dev server listens
const appUrl = 'http://localhost:3000';
const started = Date.now();
const children = [];
let stopping = false;
// the backend being replaced on SIGUSR2, whose exit is expected
let restarting = null;

// Resolves once a line of the child's output matches `ready`.
function run(name, command, args, { cwd = root, env = process.env, ready }) {
  const child = spawn(command, args, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches only us, so we stop the children
    // in one place, and a signal to the group also reaches what they spawn
    // (the backend CLI runs the backend in a child of its own).
    detached: true,
  });
  children.push(child);
  // Shown again when the child dies, as the other children's shutdown
  // output would otherwise bury its last words.
  const tail = [];
  return new Promise(resolve => {
    for (const stream of [child.stdout, child.stderr]) {
      let buffer = '';
      stream.on('data', chunk => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop();
        for (const line of lines) {
          process.stdout.write(`[${name}] ${line}\n`);
          tail.push(line);
          if (tail.length > 30) tail.shift();
          if (ready?.test(line)) resolve();
        }
      });
    }
    child.on('exit', (code, signal) => {
      if (stopping || child === restarting) return;
      shutdown(1, () => {
        console.error(
          `\n[${name}] exited unexpectedly (${signal ?? `code ${code}`}); its last output:`,
        );
        for (const line of tail) console.error(`[${name}] ${line}`);
      });
    });
  });
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

async function shutdown(code, epilogue) {
  if (stopping) return;
  stopping = true;
  const running = children.filter(
    c => c.exitCode === null && c.signalCode === null,
  );
  const exited = running.map(c => new Promise(r => c.once('exit', r)));
  for (const child of running) signalGroup(child, 'SIGTERM');
  const force = setTimeout(() => {
    for (const child of running) signalGroup(child, 'SIGKILL');
  }, 10_000);
  await Promise.all(exited);
  clearTimeout(force);
  // whatever a child left behind in its group when it exited
  for (const child of children) signalGroup(child, 'SIGKILL');
  epilogue?.();
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
process.on('SIGHUP', () => shutdown(0));
// Killed without a chance to pass a signal on (SIGKILL of `yarn start`), our
// parent leaves us reparented: stop too, or the ports stay taken.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) shutdown(0);
}, 1000).unref();

function answers(port) {
  return new Promise(resolve => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

// The dev server answers only once its first compilation is done.
async function appAnswers() {
  for (;;) {
    try {
      const res = await fetch(appUrl);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 1000));
  }
}

const externalIdp = Boolean(process.env.KEYCLOAK_METADATA_URL);
// A leftover `yarn start` would otherwise answer our readiness checks while
// the new children fail on the taken ports.
const metricsPort = process.env.PROMETHEUS_PORT ?? '9464';
const ports = [
  ...(externalIdp ? [] : [8180]),
  7007,
  3000,
  ...(metricsPort === 'off' ? [] : [Number(metricsPort)]),
];
for (const port of ports) {
  if (await answers(port)) {
    console.error(
      `Port ${port} is already in use (another yarn start?); stop that first.`,
    );
    process.exit(1);
  }
}

const configs = ['--config', join(root, 'app-config.yaml')];
const useRedis = await answers(6379);
if (useRedis) configs.push('--config', join(root, 'app-config.redis.yaml'));
// Explicit --config flags turn off the CLI's own app-config.local.yaml lookup.
if (existsSync(join(root, 'app-config.local.yaml'))) {
  configs.push('--config', join(root, 'app-config.local.yaml'));
}

let idpReady;
if (externalIdp) {
  console.log(
    'Using the Keycloak at KEYCLOAK_METADATA_URL; add its settings in app-config.local.yaml',
  );
} else {
  idpReady = run(
    'idp',
    process.execPath,
    [join(root, 'packages/keycloak-dev-idp/src/main.mjs')],
    { ready: /keycloak-dev-idp ready/ },
  );
}

let backend;
function startBackend() {
  const ready = run(
    'backend',
    process.execPath,
    [
      cli,
      'package',
      'start',
      // OpenTelemetry metrics on PROMETHEUS_PORT (default 9464), /metrics
      '--require=./src/instrumentation.js',
      ...configs,
    ],
    {
      cwd: join(root, 'packages/backend'),
      ready: /Plugin initialization complete/,
    },
  );
  backend = children.at(-1);
  return ready;
}
const backendReady = startBackend();

// SIGUSR2: replace the backend process only, as a deployment would.
process.on('SIGUSR2', async () => {
  if (stopping || restarting) return;
  const old = backend;
  restarting = old;
  console.log('[start] SIGUSR2: restarting the backend');
  const exited = new Promise(r => old.once('exit', r));
  signalGroup(old, 'SIGTERM');
  await exited;
  // whatever the old backend left in its group (the CLI's child)
  signalGroup(old, 'SIGKILL');
  children.splice(children.indexOf(old), 1);
  const started = Date.now();
  await startBackend();
  restarting = null;
  console.log(
    `[start] backend restarted (${Math.round((Date.now() - started) / 1000)}s)`,
  );
});

run('app', process.execPath, [cli, 'package', 'start', ...configs], {
  cwd: join(root, 'packages/app'),
  // The dev server would open a browser as soon as it listens, before the
  // backend and the IdP may be up; the banner below gives the URL instead.
  env: { ...process.env, BROWSER: process.env.BROWSER ?? 'none' },
});

await Promise.all([idpReady, backendReady, appAnswers()]);
if (!stopping) {
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`
  Backstage is ready (${seconds}s). Open ${appUrl}
  and sign in ${externalIdp ? 'with a user of your Keycloak' : 'as alice / alice (or bob / bob, carol / carol)'}.
  Sessions: ${useRedis ? "Redis at 127.0.0.1:6379 (keys 'backstage:session:*')" : 'in memory (start Redis on 127.0.0.1:6379 to keep them across restarts)'}
  Ports: ${ports.join(', ')} (${externalIdp ? '' : 'dev IdP, '}backend, app dev server${metricsPort === 'off' ? '' : ', backend metrics'}).
  Ctrl-C (or SIGINT/SIGTERM to PID ${process.pid}) stops everything; kill -USR2 ${process.pid} restarts the backend.
`);
}
