import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { SessionMetrics } from './SessionMetrics';

/** Collects on demand, cumulative, like the Prometheus exporter. */
class TestReader extends MetricReader {
  constructor() {
    super({
      aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
    });
  }
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

describe('SessionMetrics', () => {
  let provider: MeterProvider;
  let reader: TestReader;
  let metrics: SessionMetrics;

  beforeEach(() => {
    reader = new TestReader();
    provider = new MeterProvider({ readers: [reader] });
    metrics = new SessionMetrics(provider.getMeter('backstage-plugin-auth'));
  });

  afterEach(async () => {
    await provider.shutdown();
  });

  async function collect(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const byName = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) {
      expect(scope.scope.name).toBe('backstage-plugin-auth');
      for (const metric of scope.metrics) {
        byName.set(metric.descriptor.name, metric);
      }
    }
    return byName;
  }

  /** [attributes, value] of each data point, sorted for stable comparison */
  function points(metric: MetricData | undefined) {
    expect(metric).toBeDefined();
    return metric!.dataPoints
      .map(p => [p.attributes, p.value] as const)
      .sort(([a], [b]) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }

  it('counts logins by outcome', async () => {
    metrics.login('ok');
    metrics.login('ok');
    metrics.login('refused');
    metrics.login('error');

    const logins = (await collect()).get('keycloak_oidc.logins');
    expect(logins?.dataPointType).toBe(DataPointType.SUM);
    expect(logins && 'isMonotonic' in logins && logins.isMonotonic).toBe(true);
    expect(points(logins)).toEqual([
      [{ outcome: 'error' }, 1],
      [{ outcome: 'ok' }, 2],
      [{ outcome: 'refused' }, 1],
    ]);
  });

  it('counts refreshes by outcome, with a reason only for invalid_grant', async () => {
    metrics.refresh('ok');
    metrics.refresh('ok', 'ignored for ok');
    metrics.refresh('fast_path');
    metrics.refresh('transient_error', 'socket hang up');
    metrics.refresh('session_not_found');
    metrics.refresh('invalid_grant', 'Session not active');
    metrics.refresh('invalid_grant', 'Session not active');
    metrics.refresh('invalid_grant', 'Token is not active');
    metrics.refresh('invalid_grant');

    const refreshes = (await collect()).get('keycloak_oidc.refreshes');
    expect(refreshes?.dataPointType).toBe(DataPointType.SUM);
    expect(points(refreshes)).toEqual([
      [{ outcome: 'fast_path' }, 1],
      [{ outcome: 'invalid_grant', reason: 'Session not active' }, 2],
      [{ outcome: 'invalid_grant', reason: 'Token is not active' }, 1],
      [{ outcome: 'invalid_grant', reason: 'unknown' }, 1],
      [{ outcome: 'ok' }, 2],
      [{ outcome: 'session_not_found' }, 1],
      [{ outcome: 'transient_error' }, 1],
    ]);
  });

  it('keeps the invalid_grant reason set small', async () => {
    // long, or carrying ids and URLs: other
    metrics.refresh('invalid_grant', 'x'.repeat(65));
    metrics.refresh(
      'invalid_grant',
      'Invalid token issuer. Expected https://kc.example/realms/a',
    );
    metrics.refresh('invalid_grant', 'Session 4f1c2b9e not found');
    // unknown short plain text is kept, up to 32 distinct values
    for (let i = 0; i < 40; i++) {
      const letters =
        String.fromCharCode(65 + Math.floor(i / 26)) +
        String.fromCharCode(65 + (i % 26));
      metrics.refresh('invalid_grant', `Some new reason ${letters}`);
    }
    // known Keycloak reasons are always kept
    metrics.refresh('invalid_grant', 'Stale token');

    const reasons = points(
      (await collect()).get('keycloak_oidc.refreshes'),
    ).map(([attributes, value]) => [attributes.reason, value]);
    expect(reasons).toContainEqual(['other', 3 + 8]);
    expect(reasons).toContainEqual(['Stale token', 1]);
    expect(reasons).toContainEqual(['Some new reason AA', 1]);
    // 32 free values + other + Stale token
    expect(reasons).toHaveLength(34);
  });

  it('counts lock waits and records their duration in ms', async () => {
    metrics.lockWait(12);
    metrics.lockWait(30);
    metrics.lockWait(-1);

    const collected = await collect();
    expect(points(collected.get('keycloak_oidc.refresh_lock.waits'))).toEqual([
      [{}, 3],
    ]);
    const duration = collected.get('keycloak_oidc.refresh_lock.wait_duration');
    expect(duration?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(duration?.descriptor.unit).toBe('ms');
    const [[attributes, histogram]] = points(duration);
    expect(attributes).toEqual({});
    expect(histogram).toMatchObject({ count: 3, sum: 42, min: 0, max: 30 });
  });

  it('counts back-channel logouts by outcome and reason', async () => {
    metrics.backchannelLogout('accepted');
    metrics.backchannelLogout('rejected', 'invalid_signature');
    metrics.backchannelLogout('rejected', 'invalid_signature');
    metrics.backchannelLogout('rejected', 'missing_sid');
    metrics.backchannelLogout('rejected', 'eyJhbGciOiJSUzI1NiJ9.not-a-code');

    expect(
      points((await collect()).get('keycloak_oidc.backchannel_logouts')),
    ).toEqual([
      [{ outcome: 'accepted' }, 1],
      [{ outcome: 'rejected', reason: 'invalid_signature' }, 2],
      [{ outcome: 'rejected', reason: 'missing_sid' }, 1],
      [{ outcome: 'rejected', reason: 'other' }, 1],
    ]);
  });

  it('reports active sessions at each collection', async () => {
    let count = 3;
    const counter = jest.fn(async () => count);
    const stop = metrics.observeActiveSessions(counter);

    let gauge = (await collect()).get('keycloak_oidc.sessions.active');
    expect(gauge?.dataPointType).toBe(DataPointType.GAUGE);
    expect(points(gauge)).toEqual([[{}, 3]]);

    count = 5;
    gauge = (await collect()).get('keycloak_oidc.sessions.active');
    expect(points(gauge)).toEqual([[{}, 5]]);

    // stopped: not asked again (with cumulative temporality the SDK keeps
    // exporting the last value it saw)
    stop();
    await collect();
    expect(counter).toHaveBeenCalledTimes(2);
  });

  it('reports no active-session value when counting fails or hangs', async () => {
    let mode: 'reject' | 'throw' | 'hang' | 'nan' = 'reject';
    metrics.observeActiveSessions(
      () => {
        if (mode === 'throw') throw new Error('sync failure');
        if (mode === 'reject') return Promise.reject(new Error('Redis down'));
        if (mode === 'nan') return Promise.resolve(NaN);
        return new Promise<number>(() => {});
      },
      { timeoutMs: 50 },
    );

    for (mode of ['reject', 'throw', 'hang', 'nan'] as const) {
      const gauge = (await collect()).get('keycloak_oidc.sessions.active');
      expect(gauge?.dataPoints ?? []).toEqual([]);
    }
  });

  it('records Redis command durations by operation and outcome', async () => {
    metrics.redisCommand('get', 2, true);
    metrics.redisCommand('get', 4, true);
    metrics.redisCommand('get', 100, false);
    metrics.redisCommand('refreshLock', 1, true);

    const duration = (await collect()).get(
      'keycloak_oidc.redis.command_duration',
    );
    expect(duration?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(duration?.descriptor.unit).toBe('ms');
    const byAttributes = points(duration).map(([attributes, value]) => [
      attributes,
      (value as { count: number; sum: number }).count,
      (value as { count: number; sum: number }).sum,
    ]);
    expect(byAttributes).toEqual([
      [{ operation: 'get', outcome: 'error' }, 1, 100],
      [{ operation: 'get', outcome: 'ok' }, 2, 6],
      [{ operation: 'refreshLock', outcome: 'ok' }, 1, 1],
    ]);
  });

  it('names every instrument and gives each a description', async () => {
    metrics.login('ok');
    metrics.refresh('ok');
    metrics.lockWait(1);
    metrics.backchannelLogout('accepted');
    metrics.observeActiveSessions(async () => 0);
    metrics.redisCommand('get', 1, true);

    const collected = await collect();
    expect([...collected.keys()].sort()).toEqual([
      'keycloak_oidc.backchannel_logouts',
      'keycloak_oidc.logins',
      'keycloak_oidc.redis.command_duration',
      'keycloak_oidc.refresh_lock.wait_duration',
      'keycloak_oidc.refresh_lock.waits',
      'keycloak_oidc.refreshes',
      'keycloak_oidc.sessions.active',
    ]);
    for (const metric of collected.values()) {
      expect(metric.descriptor.description).not.toBe('');
    }
  });

  it('has a no-op variant that accepts every call', async () => {
    for (const noop of [SessionMetrics.noop(), new SessionMetrics()]) {
      noop.login('ok');
      noop.refresh('invalid_grant', 'Session not active');
      noop.lockWait(5);
      noop.backchannelLogout('rejected', 'invalid_signature');
      noop.redisCommand('get', 1, false);
      const stop = noop.observeActiveSessions(() =>
        Promise.reject(new Error('never called')),
      );
      stop();
    }
    expect((await collect()).size).toBe(0);
  });
});
