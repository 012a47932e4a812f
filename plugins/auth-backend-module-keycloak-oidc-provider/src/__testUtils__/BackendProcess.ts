import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnUntilReady, stopChild } from './childProcess';
import { freePort } from './freePort';

const BACKEND_DIR = resolve(__dirname, '../../../../packages/backend');
const ROOT = resolve(BACKEND_DIR, '../..');

export interface BackendProcessOptions {
  /** Added to the process environment (after the test runner's own) */
  env?: Record<string, string>;
}

/**
 * The example backend (packages/backend) as a real OS process, run from its
 * TypeScript sources through Backstage's node transform, with app-config.yaml
 * plus the overrides a test gives, and its OpenTelemetry instrumentation
 * (src/instrumentation.js): Prometheus metrics on PROMETHEUS_PORT, a free
 * port unless `env` sets one.
 */
export class BackendProcess {
  #child?: ChildProcess;
  #output = () => '';
  readonly #dir = mkdtempSync(join(tmpdir(), 'kc-backend-'));
  /** A static service token the process accepts, for test requests */
  readonly serviceToken = randomBytes(24).toString('base64url');

  private constructor(
    readonly listenPort: number,
    private readonly config: object,
    private readonly env: Record<string, string>,
  ) {}

  /** `config` gets the port this process listens on and returns overrides. */
  static async create(
    config: (listenPort: number) => object,
    options: BackendProcessOptions = {},
  ) {
    const port = await freePort();
    const env = { ...options.env };
    env.PROMETHEUS_PORT ??= String(await freePort());
    return new BackendProcess(port, config(port), env);
  }

  get url() {
    return `http://localhost:${this.listenPort}`;
  }

  /** The OS process id while it runs (e.g. to sample its memory) */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The Prometheus scrape endpoint (undefined with PROMETHEUS_PORT=off) */
  get metricsUrl(): string | undefined {
    const port = this.env.PROMETHEUS_PORT;
    return port === 'off' ? undefined : `http://localhost:${port}/metrics`;
  }

  async start() {
    const configFile = join(this.#dir, 'app-config.test.yaml');
    const accessFile = join(this.#dir, 'app-config.service-token.yaml');
    // JSON is YAML
    writeFileSync(configFile, JSON.stringify(this.config));
    writeFileSync(
      accessFile,
      JSON.stringify({
        backend: {
          auth: {
            externalAccess: [
              {
                type: 'static',
                options: { token: this.serviceToken, subject: 'e2e-test' },
              },
            ],
          },
        },
      }),
    );
    const { child, output } = await spawnUntilReady(
      process.execPath,
      [
        '--require',
        './src/instrumentation.js',
        '--require',
        '@backstage/cli/config/nodeTransform.cjs',
        'src/index.ts',
        '--config',
        join(ROOT, 'app-config.yaml'),
        '--config',
        configFile,
        '--config',
        accessFile,
      ],
      {
        cwd: BACKEND_DIR,
        readyText: 'Plugin initialization complete',
        timeoutMs: 60_000,
        // production logging: one JSON object per line
        env: {
          ...process.env,
          NODE_ENV: 'production',
          LOG_LEVEL: 'info',
          ...this.env,
        },
      },
    );
    this.#child = child;
    this.#output = output;
  }

  /** Waits until the catalog has read the dev users (sign-in needs them). */
  async waitForCatalogUser(name: string) {
    for (let i = 0; i < 120; i++) {
      const res = await fetch(
        `${this.url}/api/catalog/entities/by-name/user/default/${name}`,
        { headers: { authorization: `Bearer ${this.serviceToken}` } },
      );
      if (res.ok) return;
      await new Promise(r => setTimeout(r, 500));
    }
    throw new Error(`catalog at ${this.url} never had user ${name}`);
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
