import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { stopChild } from './childProcess';
import { KeycloakRealm } from './KeycloakRealm';
import { freePort } from './freePort';
import { cpuTimeOf } from './processStats';

const REALM_FILE = resolve(
  __dirname,
  '../../../../examples/keycloak/backstage-realm.json',
);
const ADMIN = { username: 'kc-admin', password: 'kc-admin-test-password' };

/** The realm in examples/keycloak/backstage-realm.json, parsed. */
export function realmTemplate(): RealmRepresentation {
  return JSON.parse(readFileSync(REALM_FILE, 'utf8'));
}

export type RealmRepresentation = Record<string, any>;

/**
 * The Keycloak distribution `yarn test:keycloak` obtained
 * (scripts/keycloak-home.sh exports KEYCLOAK_HOME). Outside that command the
 * suite cannot run, and says so instead of skipping.
 */
function keycloakHome(): string {
  const home = process.env.KEYCLOAK_HOME;
  if (!home || !existsSync(join(home, 'bin', 'kc.sh'))) {
    throw new Error(
      'KEYCLOAK_HOME is not set to a Keycloak distribution: run the real-Keycloak suite with `yarn test:keycloak` (it fetches Keycloak), or set it yourself, e.g. `KEYCLOAK_HOME=$(scripts/keycloak-home.sh) yarn bench keycloak`',
    );
  }
  return home;
}

/**
 * A copy of the distribution for a set of build-time options (such as a
 * disabled feature), kept in a cache folder: `start-dev` re-augments the
 * server (about 20 s) whenever its build options change, so each variant
 * gets its own home and pays that once.
 */
function variantHome(home: string, name: string): string {
  const cache =
    process.env.KEYCLOAK_CACHE_DIR ??
    join(
      process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
      'backstage-keycloak-redis',
    );
  const variant = join(cache, 'variants', `${basename(home)}-${name}`);
  if (!existsSync(join(variant, 'bin', 'kc.sh'))) {
    rmSync(variant, { recursive: true, force: true });
    cpSync(home, variant, { recursive: true });
    rmSync(join(variant, 'data'), { recursive: true, force: true });
  }
  return variant;
}

export interface KeycloakServerOptions {
  /** Keycloak features to disable, e.g. `persistent-user-sessions` */
  disabledFeatures?: string[];
}

/**
 * A real Keycloak server (`kc.sh start-dev`) as a child process on free
 * ports, with its H2 database in a temporary folder that outlives restarts
 * of this instance (so persistent user sessions survive them, as in
 * production). Realms are created from examples/keycloak/backstage-realm.json
 * through the Admin REST API.
 */
export class KeycloakServer {
  #child?: ChildProcess;
  #output = '';
  #previousOutput = '';
  #admin?: { client: KcAdminClient; at: number };
  readonly #dataDir = mkdtempSync(join(tmpdir(), 'kc-server-'));
  /** Milliseconds from spawn to ready, per start */
  readonly bootTimesMs: number[] = [];

  private constructor(
    readonly home: string,
    readonly port: number,
    readonly managementPort: number,
    private readonly options: KeycloakServerOptions,
  ) {}

  static async start(options: KeycloakServerOptions = {}) {
    const base = keycloakHome();
    const home = options.disabledFeatures?.length
      ? variantHome(base, `no-${options.disabledFeatures.join('-')}`)
      : base;
    const server = new KeycloakServer(
      home,
      await freePort(),
      await freePort(),
      options,
    );
    await server.start();
    return server;
  }

  get url() {
    return `http://localhost:${this.port}`;
  }

  issuer(realm: string) {
    return `${this.url}/realms/${realm}`;
  }

  /** kc.sh's process id (the script that runs Keycloak's JVM) */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The JVM that kc.sh started: where Keycloak's CPU time is spent */
  javaPid(): number {
    const script = this.pid;
    if (!script) throw new Error('Keycloak is not running');
    const children = (pid: number) =>
      readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
        .split(' ')
        .filter(Boolean)
        .map(Number);
    const queue = [script];
    while (queue.length) {
      const pid = queue.shift()!;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (basename(command.split('\0')[0]) === 'java') return pid;
      queue.push(...children(pid));
    }
    throw new Error(`no java process under kc.sh (${script})`);
  }

  get version(): string {
    return readFileSync(join(this.home, 'version.txt'), 'utf8')
      .trim()
      .replace(/^Keycloak - Version\s*/i, '');
  }

  async start() {
    const started = Date.now();
    const args = [
      'start-dev',
      `--http-port=${this.port}`,
      `--http-management-port=${this.managementPort}`,
      '--health-enabled=true',
      // dev-file H2 in this instance's own folder: restarts keep realms
      // and (Keycloak 26's default) persistent user sessions
      `--db-url=jdbc:h2:file:${join(this.#dataDir, 'keycloakdb')};NON_KEYWORDS=VALUE`,
      '--log-level=INFO',
      ...(this.options.disabledFeatures?.length
        ? [`--features-disabled=${this.options.disabledFeatures.join(',')}`]
        : []),
    ];
    const child = spawn(join(this.home, 'bin', 'kc.sh'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        KC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
        KC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      },
    });
    this.#output = '';
    const onData = (chunk: Buffer) => {
      this.#output += chunk.toString();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.#child = child;
    const deadline = started + 180_000;
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(
          `Keycloak exited with ${child.exitCode}:\n${this.#output}`,
        );
      }
      const ready = await fetch(
        `http://localhost:${this.managementPort}/health/ready`,
      ).then(
        res => res.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) {
        await stopChild(child, 'SIGKILL');
        throw new Error(`Keycloak did not get ready:\n${this.#output}`);
      }
      await new Promise(r => setTimeout(r, 250));
    }
    const bootMs = Date.now() - started;
    this.bootTimesMs.push(bootMs);
    this.#admin = undefined;
    process.stderr.write(
      `Keycloak ${this.version} (${basename(this.home)}) ready on ${this.url} in ${(bootMs / 1000).toFixed(1)} s\n`,
    );
  }

  /** Everything Keycloak printed, across restarts. */
  output() {
    return this.#previousOutput + this.#output;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    if (this.#child) {
      await stopChild(this.#child, signal);
      this.#previousOutput += this.#output;
      this.#output = '';
      this.#child = undefined;
    }
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  async dispose() {
    await this.stop();
    rmSync(this.#dataDir, { recursive: true, force: true });
  }

  /** User plus system CPU seconds Keycloak's JVM has used so far. */
  cpuSeconds(): number {
    return cpuTimeOf(this.javaPid()) / 1000;
  }

  /**
   * An Admin REST API client signed in to the master realm. Keycloak's
   * admin tokens live 60 s, so the client is renewed every 30 s.
   */
  async admin(): Promise<KcAdminClient> {
    if (!this.#admin || Date.now() - this.#admin.at > 30_000) {
      const client = new KcAdminClient({
        baseUrl: this.url,
        realmName: 'master',
      });
      await client.auth({
        ...ADMIN,
        grantType: 'password',
        clientId: 'admin-cli',
      });
      this.#admin = { client, at: Date.now() };
    }
    return this.#admin.client;
  }

  /**
   * Creates a realm from the repository's realm file, under `name`, for
   * tests: the `backstage` client accepts redirects and post-logout
   * redirects to any localhost port (backends listen on free ports) and has
   * no back-channel logout URL (a test that wants one sets it); `patch`
   * applies on top, to the realm and to the `backstage` client.
   */
  async createRealm(
    name: string,
    patch: {
      realm?: RealmRepresentation;
      client?: RealmRepresentation;
      clientAttributes?: Record<string, string>;
    } = {},
  ): Promise<KeycloakRealm> {
    const rep: RealmRepresentation = {
      ...realmTemplate(),
      ...patch.realm,
      realm: name,
    };
    rep.clients = rep.clients.map((c: RealmRepresentation) =>
      c.clientId === 'backstage'
        ? {
            ...c,
            redirectUris: ['http://localhost:*'],
            ...patch.client,
            attributes: {
              ...c.attributes,
              'post.logout.redirect.uris': 'http://localhost:*',
              'backchannel.logout.url': '',
              ...patch.clientAttributes,
            },
          }
        : c,
    );
    await (await this.admin()).realms.create(rep);
    return new KeycloakRealm(this, name);
  }
}
