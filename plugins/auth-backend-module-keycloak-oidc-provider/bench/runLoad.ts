/*
 * The measuring loop of the store-level benchmarks. The end-to-end ones
 * (packages/e2e-test/bench) have the same loop, which also merges rounds of
 * one scenario; the two report the same fields, so their rows share a table.
 */

/** Latency summary of a sample, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(samplesMs: number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  return {
    count: sorted.length,
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: sorted[sorted.length - 1],
  };
}

/** Times `fn` `count` times in a row, after `warmup` untimed runs. */
export async function timeRepeated(
  count: number,
  warmup: number,
  fn: (i: number) => Promise<void>,
): Promise<LatencySummary> {
  for (let i = 0; i < warmup; i++) {
    await fn(i);
  }
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await fn(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return summarize(samples);
}

/** One scenario's measurement: throughput, latency and the client's CPU. */
export interface LoadResult extends LatencySummary {
  opsPerSecond: number;
  /** CPU time of this (client) process per wall second, in % of one core */
  clientCpuPercent: number;
  errors: number;
}

/**
 * Runs `op` from `concurrency` workers back to back: `warmupMs` untimed,
 * then `durationMs` timed (or until each worker did `maxOpsPerWorker`).
 * Failed operations count as errors and are not timed.
 */
export async function runLoad(options: {
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  maxOpsPerWorker?: number;
  op: (worker: number, i: number) => Promise<void>;
}): Promise<LoadResult> {
  const { concurrency, op } = options;
  const maxOps = options.maxOpsPerWorker ?? Infinity;
  let phase: 'warmup' | 'timed' | 'done' = 'warmup';
  const samples: number[] = [];
  let errors = 0;
  let firstError: unknown;

  const worker = async (w: number) => {
    let i = 0;
    while (phase !== 'done' && i < maxOps) {
      const timed = phase === 'timed';
      const start = process.hrtime.bigint();
      try {
        await op(w, i++);
        if (timed) {
          samples.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
      } catch (error) {
        if (timed) {
          errors++;
          firstError ??= error;
        }
      }
    }
  };

  const workers = Array.from({ length: concurrency }, (_, w) => worker(w));
  await new Promise(r => setTimeout(r, options.warmupMs));
  phase = 'timed';
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.race([
    new Promise(r => setTimeout(r, options.durationMs)),
    Promise.all(workers),
  ]);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  phase = 'done';
  await Promise.all(workers);
  if (samples.length === 0) {
    throw new Error(
      `no operation succeeded (${errors} errors): ${String(firstError)}`,
    );
  }
  return {
    ...summarize(samples),
    opsPerSecond: (samples.length / wallMs) * 1000,
    clientCpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    errors,
  };
}
