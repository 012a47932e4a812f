import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Every process the check started and still owns, so a failure, Ctrl-C or
 * CI's SIGTERM stops them all (by their process group: a `yarn install`
 * has node-gyp and compiler children) and frees their ports.
 */
const running = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void> | void> = [];

/** Runs `fn` at cleanup, last registered first. */
export function onCleanup(fn: () => Promise<void> | void) {
  cleanups.push(fn);
}

export async function cleanUp() {
  for (const child of running) {
    killGroup(child, 'SIGTERM');
  }
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (error) {
      process.stderr.write(`cleanup failed: ${error}\n`);
    }
  }
  await new Promise(r => setTimeout(r, running.size > 0 ? 1000 : 0));
  for (const child of running) {
    killGroup(child, 'SIGKILL');
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** The environment without the variables `yarn run` adds for its own project. */
export function cleanEnv(
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    const yarnOwn =
      lower.startsWith('npm_') ||
      lower.startsWith('yarn_') ||
      lower.startsWith('berry_') ||
      key === 'PROJECT_CWD' ||
      key === 'INIT_CWD' ||
      key === 'NODE_OPTIONS';
    if (
      !yarnOwn ||
      lower === 'npm_config_nodedir' ||
      lower === 'npm_config_registry'
    ) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Output goes here (appended), not to the terminal */
  log: string;
  timeoutMs: number;
}

/**
 * Runs a command to completion in its own process group; rejects with the
 * tail of its output on a non-zero exit or after `timeoutMs`.
 */
export function run(command: string, args: string[], options: RunOptions) {
  appendFileSync(
    options.log,
    `\n$ (cd ${options.cwd} && ${command} ${args.join(' ')})\n`,
  );
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(child);
    const write = (chunk: Buffer) => appendFileSync(options.log, chunk);
    child.stdout!.on('data', write);
    child.stderr!.on('data', write);
    const timer = setTimeout(() => {
      appendFileSync(
        options.log,
        `\n[timed out after ${options.timeoutMs} ms]\n`,
      );
      killGroup(child, 'SIGKILL');
    }, options.timeoutMs);
    child.once('error', error => {
      clearTimeout(timer);
      running.delete(child);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (code === 0) {
        resolve();
      } else {
        reject(
          new Error(
            `\`${command} ${args.join(' ')}\` in ${options.cwd} ended with ${
              code ?? signal
            }; last lines of ${options.log}:\n${tail(options.log, 40)}`,
          ),
        );
      }
    });
  });
}

/**
 * Starts a long-running server in its own process group and resolves once
 * its output contains `readyText`; it runs until cleanup.
 */
export function startServer(
  command: string,
  args: string[],
  options: RunOptions & { readyText: string; failText?: string },
) {
  writeFileSync(
    options.log,
    `$ (cd ${options.cwd} && ${command} ${args.join(' ')})\n`,
  );
  return new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(child);
    let output = '';
    const timer = setTimeout(() => {
      reject(
        new Error(
          `${command} did not print "${options.readyText}" within ${options.timeoutMs} ms; last lines of ${
            options.log
          }:\n${tail(options.log, 40)}`,
        ),
      );
    }, options.timeoutMs);
    const onData = (chunk: Buffer) => {
      appendFileSync(options.log, chunk);
      if (output.length < 1_000_000) output += chunk.toString();
      if (options.failText && output.includes(options.failText)) {
        clearTimeout(timer);
        reject(
          new Error(
            `${command} printed "${options.failText}"; last lines of ${
              options.log
            }:\n${tail(options.log, 40)}`,
          ),
        );
      } else if (output.includes(options.readyText)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      reject(
        new Error(
          `${command} exited with ${code ?? signal}; last lines of ${options.log}:\n${tail(
            options.log,
            40,
          )}`,
        ),
      );
    });
  });
}

export function tail(file: string, lines: number) {
  try {
    return readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .join('\n');
  } catch {
    return '(no output)';
  }
}
