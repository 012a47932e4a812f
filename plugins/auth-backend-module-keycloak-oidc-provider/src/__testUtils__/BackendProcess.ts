import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnUntilReady, stopChild } from './childProcess';
import { freePort } from './freePort';

const BACKEND_DIR = resolve(__dirname, '../../../../packages/backend');
const ROOT = resolve(BACKEND_DIR, '../..');

/**
 * The example backend (packages/backend) as a real OS process, run from its
 * TypeScript sources through Backstage's node transform, with app-config.yaml
 * plus the overrides a test gives.
 */
export class BackendProcess {
  #child?: ChildProcess;
  #output = () => '';
  readonly #dir = mkdtempSync(join(tmpdir(), 'kc-backend-'));

  private constructor(
    readonly listenPort: number,
    private readonly config: object,
  ) {}

  /** `config` gets the port this process listens on and returns overrides. */
  static async create(config: (listenPort: number) => object) {
    const port = await freePort();
    return new BackendProcess(port, config(port));
  }

  get url() {
    return `http://localhost:${this.listenPort}`;
  }

  async start() {
    const configFile = join(this.#dir, 'app-config.test.yaml');
    // JSON is YAML
    writeFileSync(configFile, JSON.stringify(this.config));
    const { child, output } = await spawnUntilReady(
      process.execPath,
      [
        '--require',
        '@backstage/cli/config/nodeTransform.cjs',
        'src/index.ts',
        '--config',
        join(ROOT, 'app-config.yaml'),
        '--config',
        configFile,
      ],
      {
        cwd: BACKEND_DIR,
        readyText: 'Plugin initialization complete',
        timeoutMs: 60_000,
        // production logging: one JSON object per line
        env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'info' },
      },
    );
    this.#child = child;
    this.#output = output;
  }

  output() {
    return this.#output();
  }

  async stop() {
    if (this.#child) {
      await stopChild(this.#child);
      this.#child = undefined;
    }
  }

  async dispose() {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
