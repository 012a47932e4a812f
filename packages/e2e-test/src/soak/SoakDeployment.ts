import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '@redis-session/test-support';
import { BackendProcess } from '../fixtures/BackendProcess';
import { MASTER_NAME, RedisSentinelSet } from '../fixtures/RedisSentinelSet';
import { RoundRobinProxy } from '../fixtures/RoundRobinProxy';
import { TcpFaultProxy } from '../fixtures/TcpFaultProxy';
import { rssOf } from '../fixtures/processStats';
import { staticKeyStoreConfig } from '../fixtures/staticSigningKeys';
import {
  startDevSoakIdp,
  startKeycloakSoakIdp,
  type SoakIdp,
  type SoakIdpKind,
} from './SoakIdp';
import { catalogEntityOf, soakUsers, type SoakUser } from './soakUsers';

const ORG_YAML = resolve(__dirname, '../../../../examples/org.yaml');
const REDIRECT_PRELOAD = resolve(__dirname, 'redirectConnections.cjs');
export const SOAK_PREFIX = 'soak:session:';

/**
 * The PostgreSQL the backends share, as replicas in production do (each
 * with its own SQLite, a restarted replica would start with an empty
 * catalog and refuse its users' sign-ins until it had read them again).
 */
const POSTGRES = {
  host: process.env.SOAK_POSTGRES_HOST ?? '127.0.0.1',
  port: Number(process.env.SOAK_POSTGRES_PORT ?? 5432),
  user: process.env.SOAK_POSTGRES_USER ?? 'postgres',
};

export interface SoakDeploymentOptions {
  users: number;
  /** the dev IdP, or a real Keycloak (KEYCLOAK_HOME) */
  idp: SoakIdpKind;
  /** the module's `timeout` of each Keycloak call, ms */
  keycloakTimeoutMs: number;
  /** the module's `keycloakCheckInterval`, s */
  keycloakCheckInterval: number;
  log: (line: string) => void;
  /** where each backend's log is written when the soak ends */
  logDir: string;
}

/** One backend's figures at one moment (undefined while it is down). */
export interface BackendSample {
  /** the process sampled (a restart makes a new one) */
  pid?: number;
  rssBytes?: number;
  eventLoopDelayP99Ms?: number;
  lockWaits?: number;
}

/**
 * What the soak runs against, all on this machine: three example backends
 * (a static key store, no stickiness) behind a round-robin proxy; Redis
 * Sentinel with 1 master, 2 replicas and 3 sentinels, AOF everysec, the
 * module with `durability: replicated`; the dev IdP (rotation and reuse
 * detection on) behind a fault proxy; and fault proxies between the third
 * backend and every Redis server and sentinel.
 */
export class SoakDeployment {
  /** Bumped when the IdP loses its sessions: logins before it are dead. */
  idpEpoch = 0;

  private constructor(
    readonly users: SoakUser[],
    readonly idp: SoakIdp,
    readonly redis: RedisSentinelSet,
    readonly backends: BackendProcess[],
    readonly proxy: RoundRobinProxy,
    readonly publicUrl: string,
    /** between backend 3 and each Redis server and sentinel */
    readonly redisLinkOfLastBackend: TcpFaultProxy[],
    readonly store: Redis,
    private readonly dir: string,
    private readonly databasePrefix: string,
    private readonly logDir: string,
  ) {}

  static async start(options: SoakDeploymentOptions) {
    const dir = mkdtempSync(join(tmpdir(), 'kc-soak-'));

    // what was started so far, stopped again if a later step fails
    const started: (() => unknown)[] = [
      () => rmSync(dir, { recursive: true, force: true }),
    ];
    try {
      return await SoakDeployment.#start(options, dir, started);
    } catch (error) {
      await settleAll(started.reverse());
      throw error;
    }
  }

  static async #start(
    options: SoakDeploymentOptions,
    dir: string,
    started: (() => unknown)[],
  ) {
    const { log } = options;
    log('starting Redis Sentinel (1 master, 2 replicas, 3 sentinels)');
    const redis = await RedisSentinelSet.start({
      replicas: 2,
      sentinels: 3,
      extraArgs: ['--appendonly', 'yes', '--appendfsync', 'everysec'],
    });
    started.push(() => redis.dispose());
    log(
      `starting ${options.idp === 'keycloak' ? 'Keycloak' : 'the dev IdP'} behind its fault proxy`,
    );
    const idp =
      options.idp === 'keycloak'
        ? await startKeycloakSoakIdp(soakUsers(options.users))
        : await startDevSoakIdp(soakUsers(options.users), dir);
    started.push(() => idp.stop());
    const users = idp.users;
    const catalogFile = join(dir, 'users.yaml');
    // JSON documents are YAML
    writeFileSync(
      catalogFile,
      users.map(u => JSON.stringify(catalogEntityOf(u))).join('\n---\n'),
    );

    const redisLink: TcpFaultProxy[] = [];
    const redirects: Record<number, number> = {};
    for (const port of [
      ...redis.servers.map(s => s.port),
      ...redis.sentinelPorts,
    ]) {
      const proxyPort = await freePort();
      const link = await TcpFaultProxy.listen(proxyPort, {
        host: '127.0.0.1',
        port,
      });
      started.push(() => link.cut());
      redisLink.push(link);
      redirects[port] = proxyPort;
    }

    // one set of plugin databases per run, dropped at the end
    const databasePrefix = `soak_${randomBytes(4).toString('hex')}_`;
    started.push(() => dropDatabases(databasePrefix));
    const publicUrl = `http://localhost:${await freePort()}`;
    const keyStore = staticKeyStoreConfig(dir);
    const config = (listenPort: number) => ({
      // app.baseUrl stays app-config.yaml's: the browsers' redirectUrl
      backend: {
        baseUrl: publicUrl,
        listen: { port: listenPort },
        database: {
          client: 'pg',
          connection: POSTGRES,
          prefix: databasePrefix,
        },
      },
      catalog: {
        locations: [
          { type: 'file', target: ORG_YAML },
          { type: 'file', target: catalogFile },
        ],
      },
      auth: {
        keyStore,
        session: {
          store: 'redis',
          keycloakCheckInterval: options.keycloakCheckInterval,
          redis: {
            sentinels: redis.sentinelAddresses,
            name: MASTER_NAME,
            prefix: SOAK_PREFIX,
            durability: 'replicated',
          },
        },
        providers: {
          'keycloak-oidc': {
            development: {
              metadataUrl: idp.issuer,
              timeout: options.keycloakTimeoutMs,
            },
          },
        },
      },
    });
    const backends = await Promise.all(
      [0, 1, 2].map(i =>
        BackendProcess.create(config, {
          env: {
            ...(i === 2 && {
              NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${REDIRECT_PRELOAD}`,
              SOAK_REDIRECT_PORTS: JSON.stringify(redirects),
            }),
          },
        }),
      ),
    );
    started.push(() => Promise.all(backends.map(b => b.dispose())));
    const lastUser = users[users.length - 1].name;
    const startBackend = async (b: BackendProcess, i: number) => {
      await b.start();
      await b.waitForCatalogUser(lastUser);
      log(`  backend ${i + 1} serves, at ${b.url}`);
    };
    // the first creates the plugin databases; then the others join it
    log('starting 3 backends on one PostgreSQL');
    await startBackend(backends[0], 0);
    await Promise.all([
      startBackend(backends[1], 1),
      startBackend(backends[2], 2),
    ]);
    const proxy = await RoundRobinProxy.listen(
      Number(new URL(publicUrl).port),
      backends.map(b => b.url),
      { skipRefused: true },
    );
    started.push(() => proxy.close());
    const store = new Redis({
      sentinels: redis.sentinelAddresses,
      name: MASTER_NAME,
      maxRetriesPerRequest: 2,
    });
    // a failover shows here too; the figures are sampled again later
    store.on('error', () => {});
    return new SoakDeployment(
      users,
      idp,
      redis,
      backends,
      proxy,
      publicUrl,
      redisLink,
      store,
      dir,
      databasePrefix,
      options.logDir,
    );
  }

  get authUrl() {
    return `${this.publicUrl}/api/auth/keycloak-oidc`;
  }

  /** Starts backend `i` again and waits until it serves sign-ins. */
  async startBackend(i: number) {
    await this.backends[i].start();
    await this.backends[i].waitForCatalogUser(
      this.users[this.users.length - 1].name,
    );
  }

  /** The load balancer sends backend `i` no more requests (or again). */
  route(i: number, routed: boolean) {
    this.#routed[i] = routed;
    this.proxy.setUpstreams(
      this.backends.filter((_, j) => this.#routed[j]).map(b => b.url),
    );
  }

  #routed = [true, true, true];

  /** The IdP restarts and loses every session (Keycloak without persistence). */
  async restartIdp() {
    // first: a login that began before this point cannot outlive it
    this.idpEpoch++;
    await this.idp.restartLosingSessions();
  }

  async sampleBackends(): Promise<BackendSample[]> {
    return Promise.all(
      this.backends.map(async backend => {
        const pid = backend.pid;
        if (!pid || !backend.metricsUrl) return {};
        try {
          const res = await fetch(backend.metricsUrl, {
            signal: AbortSignal.timeout(2000),
          });
          const text = await res.text();
          const metric = (name: string) => {
            const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(
              text,
            );
            return m ? Number(m[1]) : undefined;
          };
          const delay = metric('nodejs_eventloop_delay_p99(?:_seconds)?');
          return {
            pid,
            rssBytes: rssOf(pid),
            eventLoopDelayP99Ms: delay === undefined ? undefined : delay * 1e3,
            lockWaits: metric('keycloak_oidc_refresh_lock_waits_total') ?? 0,
          };
        } catch {
          return { pid };
        }
      }),
    );
  }

  /** Keys, memory, and keys without a TTL (which must stay 0), on the master. */
  async redisFigures(): Promise<{
    keys: number;
    usedMemory: number;
    keysWithoutTtl: number;
  }> {
    const info = await this.store.info('memory');
    const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)![1]);
    let keys = 0;
    let keysWithoutTtl = 0;
    let cursor = '0';
    do {
      const [next, batch] = await this.store.scan(cursor, 'COUNT', 1000);
      cursor = next;
      keys += batch.length;
      if (batch.length) {
        const ttls = await this.store
          .pipeline(batch.map(key => ['pttl', key]))
          .exec();
        keysWithoutTtl += ttls!.filter(([, ttl]) => ttl === -1).length;
      }
    } while (cursor !== '0');
    return { keys, usedMemory, keysWithoutTtl };
  }

  /** Stops everything, each step even if one before it failed. */
  async dispose() {
    await settleAll([
      () => this.store.disconnect(),
      () => this.proxy.close(),
      () => {
        mkdirSync(this.logDir, { recursive: true });
        this.backends.forEach((b, i) =>
          writeFileSync(join(this.logDir, `backend-${i + 1}.log`), b.output()),
        );
        writeFileSync(join(this.logDir, 'idp.log'), this.idp.output());
      },
      () => Promise.all(this.backends.map(b => b.dispose())),
      () => dropDatabases(this.databasePrefix),
      () => Promise.all(this.redisLinkOfLastBackend.map(p => p.cut())),
      () => this.idp.stop(),
      () => this.redis.dispose(),
      () => rmSync(this.dir, { recursive: true, force: true }),
    ]);
  }
}

/** Runs every step in turn; throws the first failure once all have run. */
async function settleAll(steps: (() => unknown)[]) {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length) throw failures[0];
}

function dropDatabases(prefix: string) {
  const psql = (sql: string) =>
    execFileSync(
      'psql',
      [
        ...['-h', POSTGRES.host, '-p', String(POSTGRES.port)],
        ...['-U', POSTGRES.user, '-At', '-c', sql],
      ],
      { encoding: 'utf8' },
    );
  const names = psql(
    `SELECT datname FROM pg_database WHERE starts_with(datname, '${prefix}')`,
  )
    .split('\n')
    .filter(Boolean);
  for (const name of names) psql(`DROP DATABASE "${name}" WITH (FORCE)`);
}
