#!/usr/bin/env node
// `yarn start`: the dev IdP (unless KEYCLOAK_METADATA_URL points at a real
// Keycloak) and the example backend, with sessions in the local Redis when
// one answers on 127.0.0.1:6379, in memory otherwise.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const children = [];

function run(
  name,
  command,
  args,
  { cwd = root, env = process.env, onLine } = {},
) {
  const child = spawn(command, args, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = '';
    stream.on('data', chunk => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop();
      for (const line of lines) {
        process.stdout.write(`[${name}] ${line}\n`);
        onLine?.(line);
      }
    });
  }
  child.on('exit', code => {
    console.log(`[${name}] exited with ${code}`);
    shutdown(code ?? 1);
  });
  return child;
}

function redisAnswers() {
  return new Promise(resolve => {
    const socket = connect({ host: '127.0.0.1', port: 6379 });
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

let stopping = false;
function shutdown(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 1000).unref();
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

const configs = ['--config', join(root, 'app-config.yaml')];
const useRedis = await redisAnswers();
if (useRedis) configs.push('--config', join(root, 'app-config.redis.yaml'));
if (process.env.KEYCLOAK_METADATA_URL) {
  console.log(
    'Using the Keycloak at KEYCLOAK_METADATA_URL; add its settings in app-config.local.yaml',
  );
} else {
  run('dev-idp', process.execPath, [
    join(root, 'packages/keycloak-dev-idp/src/main.mjs'),
  ]);
}

run(
  'backend',
  process.execPath,
  [
    join(root, 'node_modules/.bin/backstage-cli'),
    'package',
    'start',
    // OpenTelemetry metrics on PROMETHEUS_PORT (default 9464), /metrics
    '--require=./src/instrumentation.js',
    ...configs,
  ],
  {
    cwd: join(root, 'packages/backend'),
    onLine: line => {
      if (/Listening on/.test(line)) {
        console.log(`
  Backstage backend is up.
  Sessions: ${useRedis ? "Redis at 127.0.0.1:6379 (keys 'backstage:session:*')" : 'in memory (start Redis on 127.0.0.1:6379 to keep them across restarts)'}
  Open http://localhost:7007/api/session-demo/ and sign in as alice / alice (or bob / bob, carol / carol).
`);
      }
    },
  },
);
