import { summarize, type LatencySummary } from './stats';

/** One scenario's measurement: throughput, latency and the client's CPU. */
export interface LoadResult extends LatencySummary {
  opsPerSecond: number;
  /** CPU time of this (client) process per wall second, in % of one core */
  clientCpuPercent: number;
  errors: number;
  /** the raw measurement, to merge rounds of one scenario */
  raw: { samples: number[]; wallMs: number; cpuMs: number };
}

function resultOf(raw: LoadResult['raw'], errors: number): LoadResult {
  return {
    ...summarize(raw.samples),
    opsPerSecond: (raw.samples.length / raw.wallMs) * 1000,
    clientCpuPercent: (raw.cpuMs / raw.wallMs) * 100,
    errors,
    raw,
  };
}

/**
 * One result from rounds of the same scenario. Interleaving the rounds of
 * the scenarios being compared spreads this noisy machine's background
 * work (GC, catalog refreshes, the other processes) over all of them.
 */
export function mergeLoads(parts: LoadResult[]): LoadResult {
  return resultOf(
    {
      samples: parts.flatMap(p => p.raw.samples),
      wallMs: parts.reduce((sum, p) => sum + p.raw.wallMs, 0),
      cpuMs: parts.reduce((sum, p) => sum + p.raw.cpuMs, 0),
    },
    parts.reduce((sum, p) => sum + p.errors, 0),
  );
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
  return resultOf(
    { samples, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 },
    errors,
  );
}
