import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnUntilReady, stopChild } from './childProcess';
import { freePort } from './freePort';

const MAIN = resolve(
  __dirname,
  '../../../../packages/keycloak-dev-idp/src/main.mjs',
);

/** The Keycloak-compatible dev IdP as a real child process. */
export class DevIdp {
  #child?: ChildProcess;
  #output = () => '';
  #previousOutput = '';

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
    private readonly defaults: boolean,
  ) {}

  /** `defaults: true` starts it with its built-in redirect URIs. */
  static async start(
    extraArgs: string[] = [],
    options: { defaults?: boolean } = {},
  ) {
    const idp = new DevIdp(await freePort(), extraArgs, !!options.defaults);
    await idp.start();
    return idp;
  }

  get issuer() {
    return `http://localhost:${this.port}/realms/backstage`;
  }

  async start() {
    const { child, output } = await spawnUntilReady(
      process.execPath,
      [
        MAIN,
        '--port',
        String(this.port),
        ...(this.defaults
          ? []
          : [
              '--redirect-uri',
              'http://localhost:*',
              '--post-logout-redirect-uri',
              'http://localhost:*',
            ]),
        '--keys-file',
        join(tmpdir(), `kc-dev-idp-test-${this.port}.json`),
        ...this.extraArgs,
      ],
      { readyText: 'keycloak-dev-idp ready' },
    );
    this.#child = child;
    this.#output = output;
  }

  /** Everything the IdP printed, across restarts. */
  output() {
    return this.#previousOutput + this.#output();
  }

  async stop() {
    if (this.#child) {
      this.#previousOutput += this.#output();
      this.#output = () => '';
      await stopChild(this.#child);
      this.#child = undefined;
    }
  }

  /** A Keycloak restart: every session and refresh token is lost. */
  async restart() {
    await this.stop();
    await this.start();
  }

  async stats(): Promise<Record<string, number>> {
    const res = await fetch(`${this.issuer}/dev/stats`);
    return (await res.json()) as Record<string, number>;
  }

  /**
   * An admin "Sign out" of the user in Keycloak: ends all of the user's
   * sessions at the IdP and, when started with `--backchannel-logout-uri`,
   * delivers a logout token per session before answering.
   */
  async signOutUser(
    username: string,
  ): Promise<{ sessions: number; delivered: number; failed: number }> {
    const res = await fetch(
      `${this.issuer}/dev/users/${encodeURIComponent(username)}/logout`,
      { method: 'POST' },
    );
    if (res.status !== 200) {
      throw new Error(
        `Sign-out of ${username} failed: ${res.status} ${await res.text()}`,
      );
    }
    return (await res.json()) as {
      sessions: number;
      delivered: number;
      failed: number;
    };
  }
}
