import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';

/**
 * `yarn start` (scripts/start.mjs) as a service: a signal to the PID it was
 * started as stops the dev IdP, the backend (with its metrics endpoint) and
 * the app's dev server and frees their ports; SIGUSR2 replaces only the
 * backend. Runs the real script from the repository, on its fixed ports.
 */
jest.setTimeout(480_000);

const root = join(__dirname, '../../../..');
const PORTS = { idp: 8180, backend: 7007, app: 3000, metrics: 9464 };

function answers(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function openPorts(): Promise<number[]> {
  const open: number[] = [];
  for (const port of Object.values(PORTS)) {
    if (await answers(port)) open.push(port);
  }
  return open;
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(text: string): Promise<void>;
}

function start(command: string, args: string[]): Started {
  // as from a shell: Jest's NODE_ENV=test would give the dev server a
  // browserslist environment the app does not define
  const { NODE_ENV: _jest, JEST_WORKER_ID: _worker, ...env } = process.env;
  const child = spawn(command, args, {
    cwd: root,
    env: { ...env, BROWSER: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const w of [...waiters]) {
      if (output.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>(resolve =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => output,
    exited,
    waitFor: text =>
      new Promise<void>((resolve, reject) => {
        if (output.includes(text)) {
          resolve();
          return;
        }
        waiters.push({ text, resolve });
        exited.then(({ code, signal }) =>
          reject(
            new Error(
              `exited (${signal ?? code}) before printing "${text}":\n${output.slice(-4000)}`,
            ),
          ),
        );
      }),
  };
}

// Ports close as their processes exit; the script exits after its children,
// or, orphaned, within a second or so of noticing.
async function portsLeftOpen(attempts: number): Promise<number[]> {
  for (let i = 0; i < attempts && (await openPorts()).length > 0; i++) {
    await new Promise(r => setTimeout(r, 500));
  }
  return openPorts();
}

let running: Started | undefined;

beforeEach(async () => {
  // Another `yarn start` (or anything on these ports) would make the script
  // refuse to start; say so instead of a confusing failure.
  const taken = await openPorts();
  if (taken.length > 0) {
    throw new Error(`ports ${taken.join(', ')} are in use; stop yarn start`);
  }
});

afterEach(async () => {
  // a failed test must not leave the next one its ports
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGTERM');
    await running.exited;
  }
  running = undefined;
});

it('node scripts/start.mjs: SIGUSR2 replaces only the backend, SIGINT to its PID frees every port', async () => {
  running = start(process.execPath, ['scripts/start.mjs']);
  await running.waitFor('Backstage is ready');
  expect((await openPorts()).sort()).toEqual(Object.values(PORTS).sort());

  running.child.kill('SIGUSR2');
  await running.waitFor('[start] backend restarted');
  expect(await answers(PORTS.backend)).toBe(true);
  expect(running.output().match(/keycloak-dev-idp ready/g)).toHaveLength(1);
  expect(running.output()).not.toContain('exited unexpectedly');

  running.child.kill('SIGINT');
  expect(await running.exited).toEqual({ code: 0, signal: null });
  expect(await portsLeftOpen(10)).toEqual([]);
});

it('yarn start: SIGTERM to the PID of yarn frees every port', async () => {
  running = start(join(root, 'scripts/yarn.sh'), ['start']);
  await running.waitFor('Backstage is ready');
  running.child.kill('SIGTERM');
  await running.exited;
  expect(await portsLeftOpen(10)).toEqual([]);
});

it('yarn start: when yarn is killed outright, the script notices and frees every port', async () => {
  running = start(join(root, 'scripts/yarn.sh'), ['start']);
  await running.waitFor('Backstage is ready');
  running.child.kill('SIGKILL');
  await running.exited;
  // nobody is left to signal the script: it must see its parent gone
  expect(await portsLeftOpen(60)).toEqual([]);
});
