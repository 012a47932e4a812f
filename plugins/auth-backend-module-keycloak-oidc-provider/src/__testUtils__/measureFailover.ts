import type { Browser } from './Browser';
import type { RedisSentinelSet } from './RedisSentinelSet';
import { refresh } from './signIn';

export interface FailoverMeasurement {
  /** SIGKILL of the master to the first successful refresh after a failure */
  failoverMs: number;
  oldMasterPort: number;
  newMasterPort: number;
  /** statuses the refresh loop saw after the kill */
  statusesAfterKill: number[];
}

/**
 * Runs a steady refresh loop (one every `intervalMs`, as open tabs do),
 * SIGKILLs the Sentinel set's master, and measures how long until refreshes
 * succeed again.
 */
export async function measureFailover(
  browser: Browser,
  authUrl: string,
  redis: RedisSentinelSet,
  { intervalMs = 100, giveUpMs = 60_000 } = {},
): Promise<FailoverMeasurement> {
  const results: { at: number; status: number }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const res = await refresh(browser, authUrl);
      results.push({ at: Date.now(), status: res.status });
      await new Promise(r => setTimeout(r, intervalMs));
    }
  })();
  await new Promise(r => setTimeout(r, 5 * intervalMs));

  const oldMasterPort = await redis.masterPort();
  const killedAt = Date.now();
  await redis.serverOn(oldMasterPort).stop('SIGKILL');

  let recoveredAt: number | undefined;
  while (recoveredAt === undefined && Date.now() - killedAt < giveUpMs) {
    await new Promise(r => setTimeout(r, intervalMs));
    const afterKill = results.filter(r => r.at > killedAt);
    const firstFailure = afterKill.findIndex(r => r.status !== 200);
    if (firstFailure >= 0) {
      recoveredAt = afterKill
        .slice(firstFailure)
        .find(r => r.status === 200)?.at;
    }
  }
  running = false;
  await loop;
  if (recoveredAt === undefined) {
    const seen = results
      .filter(r => r.at > killedAt)
      .map(r => `${r.at - killedAt}ms:${r.status}`);
    throw new Error(
      `refreshes did not recover within ${giveUpMs} ms of the master's death; after the kill the loop saw ${
        seen.length ? seen.join(' ') : 'no answer at all'
      }`,
    );
  }
  return {
    failoverMs: recoveredAt - killedAt,
    oldMasterPort,
    newMasterPort: await redis.masterPort(),
    statusesAfterKill: results.filter(r => r.at > killedAt).map(r => r.status),
  };
}
