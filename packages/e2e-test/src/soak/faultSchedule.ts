import type { SoakDeployment } from './SoakDeployment';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

export interface Fault {
  name: string;
  /** the one fault after which browsers must sign in again */
  endsIdpSessions?: boolean;
  /**
   * Breaks the deployment and repairs it; resolves once repaired (the
   * moment recovery is measured from).
   */
  inject(d: SoakDeployment, log: (line: string) => void): Promise<void>;
}

export interface FaultTimings {
  /** the module's Keycloak call timeout, ms */
  keycloakTimeoutMs: number;
  slowIdpMs: number;
  idpDownMs: number;
  redisBlackholeMs: number;
  replicaDownMs: number;
}

/** The fault kinds of issue 15, in the order the soak injects them. */
export function faultSchedule(t: FaultTimings): Fault[] {
  return [
    {
      name: 'rolling restart of the 3 backends',
      async inject(d, log) {
        for (let i = 0; i < d.backends.length; i++) {
          log(`  backend ${i + 1}: out of the balancer, SIGTERM, start, back`);
          d.route(i, false);
          await sleep(1_000); // requests in flight finish
          await d.backends[i].stop();
          await d.startBackend(i);
          d.route(i, true);
        }
      },
    },
    {
      name: 'SIGKILL of one backend',
      async inject(d, log) {
        log('  backend 2: SIGKILL, out of the balancer, start, back');
        await d.backends[1].stop('SIGKILL');
        // the balancer sees the process gone (a pod's container exited) and
        // sends it requests again once it is ready
        d.route(1, false);
        await d.startBackend(1);
        d.route(1, true);
      },
    },
    {
      name: 'Sentinel failover (SIGKILL of the master)',
      async inject(d, log) {
        const oldPort = await d.redis.masterPort();
        await d.redis.serverOn(oldPort).stop('SIGKILL');
        let newPort = oldPort;
        for (let i = 0; newPort === oldPort; i++) {
          if (i > 240)
            throw new Error('the sentinels promoted no replica in 60 s');
          await sleep(250);
          newPort = await d.redis.masterPort();
        }
        log(`  master ${oldPort} killed; sentinels promoted ${newPort}`);
        // the old master comes back from its AOF; sentinels make it a replica
        await d.redis.serverOn(oldPort).start();
        await waitForReplicas(d, 2);
      },
    },
    {
      name: 'a replica lost',
      async inject(d, log) {
        const master = await d.redis.masterPort();
        const replica = d.redis.servers.find(s => s.port !== master)!;
        log(`  replica ${replica.port}: SIGKILL for ${t.replicaDownMs} ms`);
        await replica.stop('SIGKILL');
        await sleep(t.replicaDownMs);
        await replica.start();
        await waitForReplicas(d, 2);
      },
    },
    {
      name: `IdP answering after ${(3 * t.keycloakTimeoutMs) / 1000} s (3× the module's timeout)`,
      async inject(d, log) {
        log(
          `  IdP answers delayed by ${3 * t.keycloakTimeoutMs} ms for ${t.slowIdpMs} ms`,
        );
        d.idp.faults.delay(3 * t.keycloakTimeoutMs);
        await sleep(t.slowIdpMs);
        d.idp.faults.delay(0);
      },
    },
    {
      name: `IdP down for ${t.idpDownMs / 1000} s`,
      async inject(d) {
        // a Keycloak that stops (and later starts again with its sessions,
        // as Keycloak 26 does): what it was answering is answered, then
        // every connection is refused. A crash mid-answer loses that answer
        // (docs/operations.md, "Keycloak answers slowly")
        await d.idp.faults.cut({ drainMs: 1_000 });
        await sleep(t.idpDownMs - 1_000);
        await d.idp.faults.restore();
      },
    },
    {
      name: `one backend's Redis link blackholed for ${t.redisBlackholeMs / 1000} s`,
      async inject(d) {
        d.redisLinkOfLastBackend.forEach(link => link.blackhole());
        await sleep(t.redisBlackholeMs);
        d.redisLinkOfLastBackend.forEach(link => link.heal());
      },
    },
    {
      name: 'IdP restart that loses its sessions',
      endsIdpSessions: true,
      async inject(d) {
        await d.restartIdp();
      },
    },
  ];
}

async function waitForReplicas(d: SoakDeployment, count: number) {
  for (let i = 0; i < 240; i++) {
    const info = await d.store.info('replication').catch(() => '');
    if ((info.match(/state=online/g) ?? []).length >= count) return;
    await sleep(250);
  }
  throw new Error(`Redis never had ${count} replicas online again`);
}
