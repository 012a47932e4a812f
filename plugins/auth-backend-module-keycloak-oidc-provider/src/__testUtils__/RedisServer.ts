import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnUntilReady, stopChild } from './childProcess';
import { freePort } from './freePort';

/**
 * A real redis-server child process on a free port, with its own data
 * directory so a restart can keep (appendonly) or lose (default) its data.
 */
export class RedisServer {
  #child?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'kc-redis-'));

  private constructor(
    readonly port: number,
    private readonly persistent: boolean,
    private readonly extraArgs: string[],
  ) {}

  /** `tls`: serve only TLS on the port, with this certificate. */
  static async start(
    options: {
      persistent?: boolean;
      extraArgs?: string[];
      tls?: { certFile: string; keyFile: string; caFile: string };
    } = {},
  ) {
    const port = await freePort();
    const tlsArgs = options.tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          options.tls.certFile,
          '--tls-key-file',
          options.tls.keyFile,
          '--tls-ca-cert-file',
          options.tls.caFile,
          '--tls-auth-clients',
          'no',
        ]
      : [];
    const server = new RedisServer(port, !!options.persistent, [
      ...(options.extraArgs ?? []),
      ...tlsArgs,
    ]);
    await server.start();
    return server;
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start() {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--daemonize',
      'no',
      '--appendonly',
      this.persistent ? 'yes' : 'no',
      '--appendfsync',
      'always',
      ...this.extraArgs,
    ];
    const { child } = await spawnUntilReady('redis-server', args, {
      readyText: 'Ready to accept connections',
    });
    this.#child = child;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    if (this.#child) {
      await stopChild(this.#child, signal);
      this.#child = undefined;
    }
  }

  /** Freezes the process (SIGSTOP): connections stay open, nothing answers. */
  pause() {
    this.#child?.kill('SIGSTOP');
  }

  resume() {
    this.#child?.kill('SIGCONT');
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  /** A plain client for asserting on what is stored. */
  client(): Redis {
    return new Redis(this.port, '127.0.0.1', { lazyConnect: false });
  }

  async dispose() {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
