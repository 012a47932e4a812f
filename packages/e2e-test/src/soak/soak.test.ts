import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSoak } from './runSoak';
import { soakMarkdown } from './soakReport';
import { soakSettings } from './soakSettings';

// the deployment starts in about a minute; the faults take what they take
jest.setTimeout(20 * 60_000);

/**
 * `yarn test:soak`, in .ci/run: the soak's 2-minute variant with 30
 * browsers and every fault kind. Fails on any spurious sign-out, lost
 * session, 500, key without a TTL, or a Sentinel failover over 10 s.
 */
describe('resilience soak, 2 minutes', () => {
  it('keeps every session through every fault', async () => {
    const report = await runSoak({
      ...soakSettings({ browsers: 30, minutes: 2 }),
      logDir: mkdtempSync(join(tmpdir(), 'kc-soak-logs-')),
      // eslint-disable-next-line no-console
      log: line => console.log(`[soak] ${line}`),
    });
    // eslint-disable-next-line no-console
    console.log(soakMarkdown(report));
    expect(report.violations).toEqual([]);
    const idpRestart = report.periods.find(
      p => p.badExpectedSignOuts !== undefined,
    )!;
    // the browsers noticed the IdP restart, each with one clean 401
    expect(idpRestart.expectedSignOuts).toBeGreaterThan(0);
    expect(report.run.requests).toBeGreaterThan(1000);
  });
});
