import { markdownTable, summarize } from '@redis-session/test-support';
import type { Period, Sample } from './runSoak';
import { isErrorStatus, type SoakRecorder } from './SoakRecorder';

export interface PeriodFigures {
  name: string;
  kind: 'fault' | 'quiet';
  /** the fault could not be injected or repaired */
  failure?: string;
  durationS: number;
  requests: number;
  /** every answer that was not 2xx/3xx, by status (0: no answer) */
  errorsByStatus: Record<string, number>;
  /** first to last error, s (0 without errors) */
  errorWindowS: number;
  /** repaired to last error, s (faults only; 0 when none came after) */
  recoveryS?: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  spuriousSignOuts: number;
  /** 401s to browsers whose IdP session was gone (the IdP restart) */
  expectedSignOuts: number;
  /** IdP restart: browsers that saw more than one 401, or an unclean one */
  badExpectedSignOuts?: number;
  /** IdP restart: browsers that saw exactly one clean 401 and signed in again */
  browsersToldOnce?: number;
  /** IdP restart: browsers never told their IdP session had ended */
  stillOnDeadLogin?: number;
  lostSessions: number;
  lockWaits: number;
  eventLoopDelayP99MaxMs?: number;
  /** quiet periods: least-squares slope, per minute */
  redisMemorySlopeKiBPerMin?: number;
  rssSlopeMiBPerMin?: number[];
}

export interface SoakReport {
  browsers: number;
  /** which IdP, e.g. `the dev IdP` or `Keycloak 26.7.3` */
  idp: string;
  periods: PeriodFigures[];
  run: {
    durationS: number;
    requests: number;
    redisAtStart?: Sample['redis'];
    redisAtEnd?: Sample['redis'];
    /** the most keys without a TTL any sample saw (must be 0) */
    keysWithoutTtlMax: number;
    backendRssMiB: { start: number[]; end: number[] };
    eventLoopDelayP99Ms: { first: number[]; last: number[] };
    /**
     * Over every quiet period's samples: Redis used_memory, and per backend
     * (the process running at the end) RSS and event-loop delay p99
     */
    quietTrends: {
      redisMemoryKiBPerMin: number;
      rssMiBPerMin: number[];
      eventLoopDelayMsPerMin: number[];
    };
    /** undefined: the IdP does not say (Keycloak) */
    idpRefreshGrants?: number;
  };
  /** what breaks the acceptance figures; empty when the run is good */
  violations: string[];
  /** why sign-ins failed: message and count */
  signInFailures: [string, number][];
}

const max = (values: number[]) => values.reduce((a, b) => Math.max(a, b), 0);
const round = (n: number | undefined, digits = 1) =>
  n === undefined ? '' : n.toFixed(digits);

/** Cuts the run into its periods and computes issue 15's figures. */
export function soakReport(input: {
  periods: Period[];
  samples: Sample[];
  recorder: SoakRecorder;
  browsers: number;
  idp: string;
}): SoakReport {
  const { periods, samples, recorder } = input;
  const within = <T extends { at: number }>(items: T[], p: Period) =>
    items.filter(i => i.at >= p.start && i.at < p.end);

  const figures = periods.map((p): PeriodFigures => {
    const requests = within(recorder.requests, p);
    const errors = requests.filter(r => isErrorStatus(r.status));
    const errorsByStatus: Record<string, number> = {};
    for (const e of errors) {
      errorsByStatus[e.status] = (errorsByStatus[e.status] ?? 0) + 1;
    }
    const latency = summarize(requests.map(r => r.ms));
    const signOuts = within(recorder.signOuts, p);
    const expected = signOuts.filter(s => s.expected);
    const perBrowser = new Map<number, number>();
    expected.forEach(s =>
      perBrowser.set(s.browser, (perBrowser.get(s.browser) ?? 0) + 1),
    );
    const periodSamples = samples.filter(s => s.at >= p.start && s.at <= p.end);
    // an error is seen from when it was sent until its answer came
    const firstErrorAt = Math.min(...errors.map(e => e.at));
    const lastErrorAt = Math.max(0, ...errors.map(e => e.at + e.ms));
    return {
      name: p.name,
      kind: p.fault ? 'fault' : 'quiet',
      failure: p.failure,
      durationS: (p.end - p.start) / 1000,
      requests: requests.length,
      errorsByStatus,
      errorWindowS: errors.length ? (lastErrorAt - firstErrorAt) / 1000 : 0,
      recoveryS:
        p.repairedAt === undefined
          ? undefined
          : Math.max(0, (lastErrorAt - p.repairedAt) / 1000),
      p50Ms: latency.p50 ?? 0,
      p99Ms: latency.p99 ?? 0,
      maxMs: latency.max ?? 0,
      spuriousSignOuts: signOuts.length - expected.length,
      expectedSignOuts: expected.length,
      badExpectedSignOuts: p.fault?.endsIdpSessions
        ? [...perBrowser.values()].filter(n => n > 1).length +
          expected.filter(s => !s.clean).length
        : undefined,
      browsersToldOnce: p.fault?.endsIdpSessions
        ? [...perBrowser.values()].filter(n => n === 1).length
        : undefined,
      stillOnDeadLogin: p.stillOnDeadLogin,
      lostSessions:
        within(recorder.lostSessions, p).length +
        signOuts.filter(s => !s.expected && s.sessionMissing).length,
      lockWaits: counterIncrease(periodSamples, s => s.lockWaits),
      eventLoopDelayP99MaxMs: max(
        periodSamples.flatMap(s =>
          s.backends.map(b => b.eventLoopDelayP99Ms ?? 0),
        ),
      ),
      ...(p.name.startsWith('quiet') && {
        redisMemorySlopeKiBPerMin: slopePerMinute(
          periodSamples.flatMap(s =>
            s.redis ? [[s.at, s.redis.usedMemory / 1024]] : [],
          ),
        ),
        rssSlopeMiBPerMin: [0, 1, 2].map(i =>
          slopePerMinute(
            periodSamples.flatMap(s => {
              const rss = s.backends[i]?.rssBytes;
              return rss ? [[s.at, rss / 2 ** 20]] : [];
            }),
          ),
        ),
      }),
    };
  });

  const first = samples[0];
  const last = samples[samples.length - 1];
  const mib = (s: Sample | undefined) =>
    s?.backends.map(b => (b.rssBytes ?? 0) / 2 ** 20) ?? [];
  const delays = (s: Sample | undefined) =>
    s?.backends.map(b => b.eventLoopDelayP99Ms ?? 0) ?? [];
  const run: SoakReport['run'] = {
    durationS: (periods[periods.length - 1].end - periods[0].start) / 1000,
    requests: recorder.requests.length,
    redisAtStart: samples.find(s => s.redis)?.redis,
    redisAtEnd: [...samples].reverse().find(s => s.redis)?.redis,
    keysWithoutTtlMax: max(samples.map(s => s.redis?.keysWithoutTtl ?? 0)),
    backendRssMiB: { start: mib(first), end: mib(last) },
    eventLoopDelayP99Ms: { first: delays(first), last: delays(last) },
    idpRefreshGrants: last?.idpRefreshGrants,
    quietTrends: quietTrends(periods, samples),
  };
  return {
    browsers: input.browsers,
    idp: input.idp,
    periods: figures,
    run,
    violations: violationsOf(figures, run),
    signInFailures: [...recorder.signInFailures],
  };
}

function violationsOf(periods: PeriodFigures[], run: SoakReport['run']) {
  const violations: string[] = [];
  for (const p of periods) {
    if (p.failure) {
      violations.push(`${p.name}: the fault failed: ${p.failure}`);
    }
    if (p.spuriousSignOuts) {
      violations.push(`${p.name}: ${p.spuriousSignOuts} spurious sign-outs`);
    }
    if (p.lostSessions) {
      violations.push(`${p.name}: ${p.lostSessions} lost sessions`);
    }
    if (p.errorsByStatus['500']) {
      violations.push(`${p.name}: ${p.errorsByStatus['500']} answers of 500`);
    }
    if (p.badExpectedSignOuts) {
      violations.push(
        `${p.name}: ${p.badExpectedSignOuts} browsers saw more than one 401 or an unclean one`,
      );
    }
    if (p.stillOnDeadLogin) {
      violations.push(
        `${p.name}: ${p.stillOnDeadLogin} browsers were never told their IdP session had ended`,
      );
    }
    if (p.name.startsWith('Sentinel failover') && p.errorWindowS >= 10) {
      violations.push(`${p.name}: errors for ${p.errorWindowS} s (over 10 s)`);
    }
  }
  if (run.keysWithoutTtlMax) {
    violations.push(`${run.keysWithoutTtlMax} Redis keys without a TTL`);
  }
  return violations;
}

function quietTrends(
  periods: Period[],
  samples: Sample[],
): SoakReport['run']['quietTrends'] {
  const quiet = periods.filter(p => p.name.startsWith('quiet'));
  const quietSamples = samples.filter(s =>
    quiet.some(p => s.at >= p.start && s.at <= p.end),
  );
  const finalPids = samples[samples.length - 1]?.backends.map(b => b.pid) ?? [];
  const perBackend = (
    value: (b: Sample['backends'][number]) => number | undefined,
  ) =>
    finalPids.map((pid, i) =>
      slopePerMinute(
        quietSamples.flatMap(s => {
          const b = s.backends[i];
          const v = b && b.pid === pid ? value(b) : undefined;
          return v === undefined ? [] : [[s.at, v]];
        }),
      ),
    );
  return {
    redisMemoryKiBPerMin: slopePerMinute(
      quietSamples.flatMap(s =>
        s.redis ? [[s.at, s.redis.usedMemory / 1024]] : [],
      ),
    ),
    rssMiBPerMin: perBackend(b =>
      b.rssBytes === undefined ? undefined : b.rssBytes / 2 ** 20,
    ),
    eventLoopDelayMsPerMin: perBackend(b => b.eventLoopDelayP99Ms),
  };
}

/**
 * Sum of a per-backend counter's increases over the samples: a new process
 * (a restart) starts from 0, a sample that failed is skipped.
 */
function counterIncrease(
  samples: Sample[],
  value: (b: Sample['backends'][number]) => number | undefined,
) {
  let total = 0;
  const last = new Map<number, number>(); // pid: last value seen
  const seenBefore = new Set<number>();
  samples.forEach((s, i) =>
    s.backends.forEach(b => {
      const now = value(b);
      if (b.pid === undefined) return;
      if (now === undefined) {
        seenBefore.add(b.pid);
        return;
      }
      const before = last.get(b.pid);
      if (before !== undefined) total += now - before;
      // a process first seen after the first sample started within it
      else if (i > 0 && !seenBefore.has(b.pid)) total += now;
      last.set(b.pid, now);
      seenBefore.add(b.pid);
    }),
  );
  return total;
}

function slopePerMinute(points: number[][]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const xs = points.map(([t]) => (t - points[0][0]) / 60_000);
  const ys = points.map(([, y]) => y);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0);
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return sxx ? sxy / sxx : 0;
}

/** The report as the Markdown tables of docs/resilience.md. */
export function soakMarkdown(report: SoakReport): string {
  const { run } = report;
  const statuses = (p: PeriodFigures) =>
    Object.entries(p.errorsByStatus)
      .map(([status, n]) => `${status}: ${n}`)
      .join(', ') || 'none';
  const trends = report.run.quietTrends;
  const periodTable = markdownTable(
    [
      'period',
      's',
      'requests',
      'errors by status',
      'error window s',
      'recovery s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'spurious sign-outs',
      'expected sign-outs',
      'lost sessions',
      'lock waits',
      'event loop p99 max ms',
    ],
    report.periods.map(p => [
      p.name,
      round(p.durationS, 0),
      String(p.requests),
      statuses(p),
      round(p.errorWindowS),
      round(p.recoveryS),
      round(p.p50Ms, 0),
      round(p.p99Ms, 0),
      round(p.maxMs, 0),
      String(p.spuriousSignOuts),
      String(p.expectedSignOuts),
      String(p.lostSessions),
      String(p.lockWaits),
      round(p.eventLoopDelayP99MaxMs),
    ]),
  );
  const quietTable = markdownTable(
    [
      'quiet period',
      'Redis used_memory KiB/min',
      'backend 1 RSS MiB/min',
      'backend 2 RSS MiB/min',
      'backend 3 RSS MiB/min',
    ],
    report.periods
      .filter(p => p.redisMemorySlopeKiBPerMin !== undefined)
      .map(p => [
        p.name,
        round(p.redisMemorySlopeKiBPerMin),
        ...(p.rssSlopeMiBPerMin ?? []).map(s => round(s, 2)),
      ]),
  );
  const list = (values: number[]) => values.map(v => v.toFixed(0)).join(' / ');
  const idpRestart = report.periods.find(p => p.browsersToldOnce !== undefined);
  return [
    `${report.browsers} simulated browsers, ${round(run.durationS, 0)} s under load, ${run.requests} requests.`,
    '',
    report.violations.length
      ? `**Violations:**\n${report.violations.map(v => `- ${v}`).join('\n')}`
      : '**No violations:** no spurious sign-out, no lost session, no 500, no key without a TTL, Sentinel failover errors under 10 s.',
    '',
    '## Per period',
    '',
    periodTable,
    '',
    ...(idpRestart
      ? [
          `IdP restart: ${idpRestart.browsersToldOnce} of ${report.browsers} browsers saw exactly one clean 401 and signed in again; ${idpRestart.badExpectedSignOuts} saw more than one or an unclean one; ${idpRestart.stillOnDeadLogin} were never told (the others had signed out and in by themselves in the meantime).`,
          '',
        ]
      : []),
    '## Trends in the quiet periods (least-squares slope)',
    '',
    quietTable,
    '',
    ...(report.signInFailures.length
      ? [
          '## Why sign-ins failed (during outages, as expected)',
          '',
          markdownTable(
            ['count', 'what the sign-in stopped at'],
            report.signInFailures.map(([message, count]) => [
              String(count),
              message.replace(/\|/g, '\\|').replace(/\n/g, ' '),
            ]),
          ),
          '',
        ]
      : []),
    '## The whole run',
    '',
    markdownTable(
      ['figure', 'start', 'end'],
      [
        [
          'Redis keys',
          String(run.redisAtStart?.keys ?? ''),
          String(run.redisAtEnd?.keys ?? ''),
        ],
        [
          'Redis used_memory (MiB)',
          round((run.redisAtStart?.usedMemory ?? 0) / 2 ** 20),
          round((run.redisAtEnd?.usedMemory ?? 0) / 2 ** 20),
        ],
        [
          'keys without a TTL (most seen in any sample)',
          '',
          String(run.keysWithoutTtlMax),
        ],
        [
          'backend RSS MiB (1 / 2 / 3)',
          list(run.backendRssMiB.start),
          list(run.backendRssMiB.end),
        ],
        [
          'event loop delay p99 ms (1 / 2 / 3)',
          list(run.eventLoopDelayP99Ms.first),
          list(run.eventLoopDelayP99Ms.last),
        ],
        [
          'IdP refresh grants',
          '0',
          run.idpRefreshGrants === undefined
            ? 'not counted (Keycloak)'
            : String(run.idpRefreshGrants),
        ],
        [
          'trend over all quiet periods: Redis used_memory KiB/min',
          '',
          round(trends.redisMemoryKiBPerMin),
        ],
        [
          'trend over all quiet periods: backend RSS MiB/min (1 / 2 / 3, the processes running at the end)',
          '',
          trends.rssMiBPerMin.map(v => v.toFixed(2)).join(' / '),
        ],
        [
          'trend over all quiet periods: event loop delay p99 ms/min (1 / 2 / 3)',
          '',
          trends.eventLoopDelayMsPerMin.map(v => v.toFixed(2)).join(' / '),
        ],
      ],
    ),
  ].join('\n');
}
