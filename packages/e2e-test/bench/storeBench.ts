import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { LatencySummary } from '@redis-session/test-support';

/** The module's package folder (its bench/ is not part of the package's API) */
export const PLUGIN_DIR = dirname(
  require.resolve('@redis-session/plugin-auth-backend-module-keycloak-oidc-provider/package.json'),
);

/** A store-level row: what the plugin's bench measured, without samples. */
export interface StoreRow extends LatencySummary {
  scenario: string;
  concurrency: number;
  opsPerSecond: number;
  clientCpuPercent: number;
  errors: number;
  vsFloorP99?: number;
}

export interface StoreBenchCommands {
  /** our store at `live` sessions (left in Redis) against the raw floor */
  sessions: {
    options: {
      redisUrl: string;
      /** a signed-in browser's cookie: its record is what live sessions copy */
      handle: string;
      live: number;
      durationMs: number;
    };
    result: {
      rows: StoreRow[];
      usedMemoryPerSessionBytes: number;
      tokenBytes: { access: number; refresh: number; id: number };
      liveUserTag: string;
    };
  };
  /** one session's writes through a Sentinel-managed master */
  writes: {
    options: {
      sentinels: { host: string; port: number }[];
      name: string;
      prefix: string;
      durability: 'none' | 'replicated';
      count: number;
      warmup: number;
    };
    result: LatencySummary;
  };
}

/**
 * Runs the module's own store-level benchmark (the plugin's bench/store.ts,
 * which uses its internal classes) as a child process against the Redis
 * this benchmark started, and returns what it measured.
 */
export function runStoreBench<C extends keyof StoreBenchCommands>(
  command: C,
  options: StoreBenchCommands[C]['options'],
): Promise<StoreBenchCommands[C]['result']> {
  const child = spawn(
    process.execPath,
    [
      '--require',
      require.resolve('@backstage/cli/config/nodeTransform.cjs'),
      join(PLUGIN_DIR, 'bench', 'store.ts'),
      command,
      JSON.stringify(options),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout.on('data', chunk => {
    stdout += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', code => {
      if (code === 0) {
        resolve(JSON.parse(stdout));
      } else {
        reject(
          new Error(`the plugin's store bench (${command}) exited ${code}`),
        );
      }
    });
  });
}
