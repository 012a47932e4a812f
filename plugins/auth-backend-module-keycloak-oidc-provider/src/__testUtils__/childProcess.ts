import { spawn, type ChildProcess } from 'node:child_process';

/** Starts a child process and resolves once its output contains `readyText`. */
export async function spawnUntilReady(
  command: string,
  args: string[],
  options: {
    readyText: string;
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
  },
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not get ready:\n${output}`));
    }, options.timeoutMs ?? 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(options.readyText)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', code => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}:\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, output: () => output };
}

/** Stops a child by PID and waits until it is gone. */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  await new Promise<void>(resolve => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
