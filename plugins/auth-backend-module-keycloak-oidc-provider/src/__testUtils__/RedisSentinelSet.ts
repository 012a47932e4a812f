import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnUntilReady, stopChild } from './childProcess';
import { freePort } from './freePort';
import { RedisServer } from './RedisServer';

export const MASTER_NAME = 'mymaster';

/**
 * 1 master, `replicas` replicas and `sentinels` sentinels, all real
 * processes on free ports, tuned to fail over within a few seconds
 * (down-after 1 s, as operators tune them for fast detection).
 */
export class RedisSentinelSet {
  private constructor(
    readonly servers: RedisServer[],
    readonly sentinelPorts: number[],
    private readonly sentinelChildren: ChildProcess[],
    private readonly dir: string,
  ) {}

  static async start({ replicas = 2, sentinels = 3 } = {}) {
    // no 5 s diskless-sync delay: replicas sync as soon as they connect
    const fastSync = ['--repl-diskless-sync-delay', '0'];
    const master = await RedisServer.start({ extraArgs: fastSync });
    const replicaServers = await Promise.all(
      Array.from({ length: replicas }, () =>
        RedisServer.start({
          extraArgs: [
            ...fastSync,
            '--replicaof',
            '127.0.0.1',
            String(master.port),
          ],
        }),
      ),
    );
    const dir = mkdtempSync(join(tmpdir(), 'kc-sentinel-'));
    const ports: number[] = [];
    const children: ChildProcess[] = [];
    for (let i = 0; i < sentinels; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 10000`,
          `sentinel parallel-syncs ${MASTER_NAME} 2`,
        ].join('\n'),
      );
      const { child } = await spawnUntilReady(
        'redis-server',
        [conf, '--sentinel'],
        {
          readyText: '+monitor master',
        },
      );
      ports.push(port);
      children.push(child);
    }
    const set = new RedisSentinelSet(
      [master, ...replicaServers],
      ports,
      children,
      dir,
    );
    await set.#waitUntilDiscovered(replicas, sentinels);
    return set;
  }

  get sentinelAddresses() {
    return this.sentinelPorts.map(port => ({ host: '127.0.0.1', port }));
  }

  /**
   * Every replica is in sync, and every sentinel knows every replica and
   * every other sentinel.
   */
  async #waitUntilDiscovered(replicas: number, sentinels: number) {
    for (let i = 0; i < 200; i++) {
      const master = new Redis(this.servers[0].port, '127.0.0.1');
      const info = await master
        .info('replication')
        .finally(() => master.disconnect());
      if ((info.match(/state=online/g) ?? []).length < replicas) {
        await new Promise(r => setTimeout(r, 100));
        continue;
      }
      const views = await Promise.all(
        this.sentinelPorts.map(async port => {
          const client = new Redis(port, '127.0.0.1');
          try {
            const r = (await client.call(
              'SENTINEL',
              'REPLICAS',
              MASTER_NAME,
            )) as unknown[];
            const s = (await client.call(
              'SENTINEL',
              'SENTINELS',
              MASTER_NAME,
            )) as unknown[];
            return r.length === replicas && s.length === sentinels - 1;
          } finally {
            client.disconnect();
          }
        }),
      );
      if (views.every(Boolean)) return;
      await new Promise(r => setTimeout(r, 250));
    }
    throw new Error('sentinels never discovered the whole set');
  }

  /** The port the sentinels currently report as master. */
  async masterPort(): Promise<number> {
    const client = new Redis(this.sentinelPorts[0], '127.0.0.1');
    try {
      const [, port] = (await client.call(
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        MASTER_NAME,
      )) as string[];
      return Number(port);
    } finally {
      client.disconnect();
    }
  }

  serverOn(port: number): RedisServer {
    return this.servers.find(s => s.port === port)!;
  }

  async dispose() {
    await Promise.all(this.sentinelChildren.map(c => stopChild(c, 'SIGKILL')));
    await Promise.all(this.servers.map(s => s.dispose()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
