import { SimulatedBrowser, sessionKeyOf } from './SimulatedBrowser';
import { SoakDeployment, type BackendSample } from './SoakDeployment';
import { SoakRecorder } from './SoakRecorder';
import type { SoakIdpKind } from './SoakIdp';
import { faultSchedule, type Fault, type FaultTimings } from './faultSchedule';
import { soakReport, type SoakReport } from './soakReport';

export interface SoakOptions {
  browsers: number;
  /** the dev IdP, or a real Keycloak (KEYCLOAK_HOME) */
  idp: SoakIdpKind;
  durationMs: number;
  /** the module's timeout of each Keycloak call, ms */
  keycloakTimeoutMs: number;
  /** the module's keycloakCheckInterval, s */
  keycloakCheckInterval: number;
  thinkMs: [number, number];
  /** the shortest quiet period before each fault, ms */
  minQuietMs: number;
  /** after a fault is repaired, how long its period still runs, ms */
  settleMs: number;
  /** how long each fault is held */
  faultTimings: Omit<FaultTimings, 'keycloakTimeoutMs'>;
  log: (line: string) => void;
  /** where the backends' and the IdP's logs are written at the end */
  logDir: string;
}

/** One stretch of the run: a fault from injection to settled, or quiet. */
export interface Period {
  name: string;
  fault?: Fault;
  start: number;
  /** the fault was repaired (faults only) */
  repairedAt?: number;
  end: number;
  /** IdP restart: browsers that at the end had not yet been told (must be 0) */
  stillOnDeadLogin?: number;
  /** the fault could not be injected or repaired */
  failure?: string;
}

/** A resource sample, every few seconds through the run. */
export interface Sample {
  at: number;
  backends: BackendSample[];
  redis?: { keys: number; usedMemory: number; keysWithoutTtl: number };
  /** undefined: the IdP does not say (Keycloak) */
  idpRefreshGrants?: number;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * The soak (issue 15): starts the deployment, signs the browsers in, runs
 * the fault schedule spread over `durationMs` under their load, and
 * returns the report. Everything it started is stopped again.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { log } = options;
  const faults = faultSchedule({
    keycloakTimeoutMs: options.keycloakTimeoutMs,
    ...options.faultTimings,
  });
  const deployment = await SoakDeployment.start({
    users: options.browsers,
    idp: options.idp,
    keycloakTimeoutMs: options.keycloakTimeoutMs,
    keycloakCheckInterval: options.keycloakCheckInterval,
    log,
    logDir: options.logDir,
  });
  const recorder = new SoakRecorder();
  const samples: Sample[] = [];
  const periods: Period[] = [];
  let sampling = true;
  const browsers = deployment.users.map(
    (user, i) =>
      new SimulatedBrowser(i, user, deployment, recorder, {
        thinkMs: options.thinkMs,
        secondTabChance: 0.1,
        signOutChance: 0.02,
      }),
  );
  try {
    log(`signing in ${browsers.length} browsers`);
    const rampStart = Date.now();
    const rampMs = Math.min(30_000, browsers.length * 100);
    const loops = browsers.map(async (b, i) => {
      await sleep((i * rampMs) / browsers.length);
      await b.run();
    });
    await until(
      () => browsers.every(b => b.loginEpoch >= 0),
      5 * 60_000,
      'every browser signed in',
    );
    periods.push({
      name: 'ramp-up (sign-ins)',
      start: rampStart,
      end: Date.now(),
    });
    const sampler = (async () => {
      while (sampling) {
        samples.push(await sample(deployment));
        await sleep(3_000);
      }
    })();

    const runStart = Date.now();
    const runEnd = runStart + options.durationMs;
    for (let i = 0; i < faults.length; i++) {
      const left = runEnd - Date.now();
      // faults take about 40 s each on this machine, backends restarts more
      const quietMs = Math.max(
        options.minQuietMs,
        left / (faults.length - i + 1) - 40_000,
      );
      periods.push(await quiet(quietMs, `quiet before fault ${i + 1}`));
      periods.push(await injectFault(faults[i], i));
    }
    periods.push(
      await quiet(
        Math.max(options.minQuietMs, runEnd - Date.now()),
        'quiet at the end',
      ),
    );
    log('stopping the browsers');
    const stopStart = Date.now();
    browsers.forEach(b => {
      b.stopped = true;
    });
    await Promise.all(loops);
    periods.push({ name: 'stopping', start: stopStart, end: Date.now() + 1 });
    sampling = false;
    await sampler;
    samples.push(await sample(deployment));
    return soakReport({
      periods,
      samples,
      recorder,
      browsers: browsers.length,
      idp: deployment.idp.description,
    });
  } finally {
    browsers.forEach(b => {
      b.stopped = true;
    });
    sampling = false;
    await deployment.dispose();
  }

  async function quiet(ms: number, name: string): Promise<Period> {
    const start = Date.now();
    log(`${name}: ${Math.round(ms / 1000)} s`);
    await sleep(ms);
    return { name, start, end: Date.now() };
  }

  async function injectFault(fault: Fault, i: number): Promise<Period> {
    log(`fault ${i + 1}: ${fault.name}`);
    const before = new Map(
      browsers
        .filter(b => b.handle && !b.busy)
        .map(b => [b, b.handle!] as const),
    );
    const start = Date.now();
    let failure: string | undefined;
    try {
      await fault.inject(deployment, log);
    } catch (error) {
      // reported, and the run goes on with the next fault
      failure = String(error);
      log(`  the fault itself failed: ${failure}`);
    }
    const repairedAt = Date.now();
    log(`  repaired after ${Math.round((repairedAt - start) / 1000)} s`);
    await sleep(
      fault.endsIdpSessions
        ? // every browser's next refresh that asks the IdP must see it
          options.keycloakCheckInterval * 1000 + options.thinkMs[1] + 10_000
        : options.settleMs,
    );
    const period = { name: fault.name, fault, start, repairedAt, failure };
    if (!fault.endsIdpSessions) {
      await sweepLostSessions(before);
      return { ...period, end: Date.now() };
    }
    // a browser that is signing in again at this moment gets the time to
    const onDeadLogin = () =>
      browsers.filter(b => b.loginEpoch < deployment.idpEpoch);
    await until(
      () => onDeadLogin().every(b => !b.busy),
      30_000,
      'no browser is between a 401 and its new sign-in',
    ).catch(() => {});
    return {
      ...period,
      end: Date.now(),
      stillOnDeadLogin: onDeadLogin().length,
    };
  }

  /**
   * Sessions a browser held since before the fault and still holds
   * (it neither signed out nor in) must still be in Redis.
   */
  async function sweepLostSessions(before: Map<SimulatedBrowser, string>) {
    const kept = [...before].filter(
      ([b, handle]) => b.handle === handle && !b.busy,
    );
    let exists;
    for (let attempt = 1; !exists; attempt++) {
      exists = await deployment.store
        .pipeline(kept.map(([, handle]) => ['exists', sessionKeyOf(handle)]))
        .exec()
        .catch(error => {
          // Redis is still settling (a failover): ask again shortly
          if (attempt >= 20) throw error;
          return sleep(500).then(() => undefined);
        });
    }
    kept.forEach(([b, handle], i) => {
      const [error, found] = exists![i];
      // still holding it, not signing out: a session the soak lost
      if (!error && found === 0 && b.handle === handle && !b.busy) {
        recorder.lostSession({ at: Date.now(), browser: b.id });
      }
    });
  }
}

/** Waits until `done()`, checking every 250 ms; throws after `ms`. */
async function until(done: () => boolean, ms: number, what: string) {
  const giveUpAt = Date.now() + ms;
  while (!done()) {
    if (Date.now() > giveUpAt) {
      throw new Error(`gave up after ${ms / 1000} s waiting until ${what}`);
    }
    await sleep(250);
  }
}

async function sample(deployment: SoakDeployment): Promise<Sample> {
  const [backends, redis, idpRefreshGrants] = await Promise.all([
    deployment.sampleBackends(),
    deployment.redisFigures().catch(() => undefined),
    deployment.idp.refreshGrants(),
  ]);
  return { at: Date.now(), backends, redis, idpRefreshGrants };
}
