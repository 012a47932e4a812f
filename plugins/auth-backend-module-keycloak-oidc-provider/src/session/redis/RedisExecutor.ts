import type { ChainableCommander } from 'ioredis';
import { SessionStoreUnavailableError } from '../../errors';
import type { RedisClient } from './createRedisClient';
import { isRedisUnavailable, ReplicaAckTimeoutError } from './redisFailure';
import {
  COUNT_PENDING_LOGIN,
  CREATE_SESSION,
  DELETE_SESSION,
  DELETE_USER_SESSIONS,
  EXTEND_SESSION,
  POINTER,
  READ_FOR_REFRESH,
  READ_SESSION,
  RELEASE_LOCK,
  RENEW_LOCK,
  TRACK_ACTIVE,
  WRITE_SESSION,
} from './redisScripts';

const SCRIPTS = {
  createSession: { keys: 2, lua: CREATE_SESSION },
  writeSession: { keys: 3, lua: WRITE_SESSION },
  readForRefresh: { keys: 2, lua: READ_FOR_REFRESH },
  readSession: { keys: 1, lua: READ_SESSION },
  releaseLock: { keys: 1, lua: RELEASE_LOCK },
  renewLock: { keys: 1, lua: RENEW_LOCK },
  deleteUserSessions: { keys: 1, lua: DELETE_USER_SESSIONS },
  deleteOne: { keys: 3, lua: DELETE_SESSION },
  extendSession: { keys: 2, lua: EXTEND_SESSION },
  pointer: { keys: 1, lua: POINTER },
  trackActive: { keys: 1, lua: TRACK_ACTIVE },
  countPendingLogin: { keys: 2, lua: COUNT_PENDING_LOGIN },
} as const;
type ScriptName = keyof typeof SCRIPTS;
type ScriptCall = (...keysAndArgs: (string | number | Buffer)[]) => any;
/**
 * A client or pipeline with the scripts defined as commands; ioredis adds
 * a `…Buffer` variant of each, whose reply keeps binary values.
 */
export type Scripted<T> = T &
  Record<ScriptName | `${ScriptName}Buffer`, ScriptCall>;
export type ScriptedPipeline = Scripted<ChainableCommander>;

/** Commands on keys of one slot other than the write's own, for a pipeline. */
export type SideWrite = (pipeline: ScriptedPipeline) => void;

/** The results of a pipeline, or the first error in it. */
export function pipelineResults(
  results: [Error | null, unknown][] | null,
): unknown[] {
  if (!results) {
    throw new Error('pipeline aborted');
  }
  const failed = results.find(([error]) => error);
  if (failed) {
    throw failed[0];
  }
  return results.map(([, value]) => value);
}

export interface RedisExecutorOptions {
  client: RedisClient;
  /**
   * With durability `replicated`, every write is followed, in the same round
   * trip, by `WAIT 1 <replicaWaitMs>`; a write no replica acknowledged in
   * time fails as unavailable (it is still on the master, so nothing is lost
   * unless the master dies right then).
   */
  replicaWaitMs?: number;
  /**
   * Where writes go, when not on `client`: with `replicaWaitMs`, a `WAIT`
   * holds every later command on its connection for as long as no replica
   * acknowledges (after a failover, until one has synced again), so reads
   * get a connection of their own and are answered meanwhile.
   */
  writeClient?: RedisClient;
  /** Why the connection is down, if it is, for error messages */
  lastConnectionError?: () => string | undefined;
  /** Called after each operation with its duration */
  observe?: (operation: string, ms: number, ok: boolean) => void;
}

/**
 * Runs the store's commands: defines the Lua scripts, sends writes as one
 * round trip, times every operation, and turns Redis being unreachable,
 * slow or refusing into `SessionStoreUnavailableError` (a 503 naming the
 * operation). Any other error is a bug and is rethrown as it is.
 */
export class RedisExecutor {
  readonly redis: Scripted<RedisClient>;
  readonly #writer: Scripted<RedisClient>;
  readonly #options: RedisExecutorOptions;

  constructor(options: RedisExecutorOptions) {
    this.#options = options;
    this.redis = withScripts(options.client);
    this.#writer = options.writeClient
      ? withScripts(options.writeClient)
      : this.redis;
  }

  /**
   * Sends a write as one pipeline (one round trip), with `WAIT` appended
   * when durability is `replicated`. `side` writes touch keys of other
   * slots: same pipeline on a single Redis, parallel pipelines on a Cluster
   * (one per side write, each on one slot). Resolves to the write's own
   * results.
   */
  write(
    operation: string,
    build: (pipeline: ScriptedPipeline) => ChainableCommander,
    side: SideWrite[] = [],
  ): Promise<unknown[]> {
    const { replicaWaitMs } = this.#options;
    return this.run(operation, async () => {
      const pipeline = () => this.#writer.pipeline() as ScriptedPipeline;
      const main = pipeline();
      build(main);
      const own = main.length;
      const cluster = (this.redis as { isCluster?: boolean }).isCluster;
      const parallel: ChainableCommander[] = [];
      for (const write of side) {
        if (cluster) {
          const separate = pipeline();
          write(separate);
          parallel.push(separate);
        } else {
          write(main);
        }
      }
      if (replicaWaitMs !== undefined) {
        main.wait(1, replicaWaitMs);
      }
      const [results] = await Promise.all(
        [main, ...parallel].map(async p => pipelineResults(await p.exec())),
      );
      if (replicaWaitMs !== undefined && results[results.length - 1] === 0) {
        throw new ReplicaAckTimeoutError(
          `no replica acknowledged the write within ${replicaWaitMs} ms (durability: replicated)`,
        );
      }
      return results.slice(0, own);
    });
  }

  async run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const { observe, lastConnectionError } = this.#options;
    try {
      const result = await fn();
      observe?.(operation, performance.now() - started, true);
      return result;
    } catch (error) {
      observe?.(operation, performance.now() - started, false);
      if (!isRedisUnavailable(error)) {
        throw error;
      }
      const reason = (error as Error).message;
      const connection = lastConnectionError?.();
      throw new SessionStoreUnavailableError(
        `Session store (Redis) unavailable while ${operation}: ${reason}${connection ? ` (connection: ${connection})` : ''}`,
      );
    }
  }

  async close(): Promise<void> {
    const clients = new Set([this.redis, this.#writer]);
    await Promise.all(
      [...clients].map(c => c.quit().catch(() => c.disconnect())),
    );
  }
}

/**
 * The client with the store's scripts as commands: ioredis runs them by
 * EVALSHA and loads them when Redis lost them (restart, failover), also
 * inside pipelines.
 */
function withScripts(client: RedisClient): Scripted<RedisClient> {
  const scripted = client as Scripted<RedisClient>;
  if (typeof scripted.createSession !== 'function') {
    for (const [name, { keys, lua }] of Object.entries(SCRIPTS)) {
      scripted.defineCommand(name, { numberOfKeys: keys, lua });
    }
  }
  return scripted;
}
