import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { RedisServer } from './RedisServer';

const run = promisify(execFile);

/** A real Redis Cluster of `masters` redis-server processes, no replicas. */
export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(masters = 3) {
    const nodes = await Promise.all(
      Array.from({ length: masters }, () =>
        RedisServer.start({
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      ),
    );
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map(n => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const cluster = new RedisCluster(nodes);
    await cluster.#waitUntilOk();
    return cluster;
  }

  get addresses() {
    return this.nodes.map(n => ({ host: '127.0.0.1', port: n.port }));
  }

  async #waitUntilOk() {
    for (let i = 0; i < 100; i++) {
      const states = await Promise.all(
        this.nodes.map(async n => {
          const client = new Redis(n.port, '127.0.0.1');
          try {
            return (await client.cluster('INFO')) as string;
          } finally {
            client.disconnect();
          }
        }),
      );
      if (states.every(s => s.includes('cluster_state:ok'))) return;
      await new Promise(r => setTimeout(r, 100));
    }
    throw new Error('cluster never reached cluster_state:ok');
  }

  /** Keys matching `pattern` on each master, in node order. */
  async keysPerNode(pattern: string): Promise<string[][]> {
    return Promise.all(
      this.nodes.map(async n => {
        const client = new Redis(n.port, '127.0.0.1');
        try {
          return await client.keys(pattern);
        } finally {
          client.disconnect();
        }
      }),
    );
  }

  async dispose() {
    await Promise.all(this.nodes.map(n => n.dispose()));
  }
}
