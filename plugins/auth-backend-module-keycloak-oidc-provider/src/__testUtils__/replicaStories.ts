/* eslint-disable jest/no-export */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { appBackendConfig } from '../__testUtils__/appBackendConfig';
import { AppSession, withScreenshots } from '../__testUtils__/AppSession';
import { BackendProcess } from '../__testUtils__/BackendProcess';
import { assertAppBuilt } from '../__testUtils__/builtApp';
import { launchChromium } from '../__testUtils__/Chromium';
import { freePort } from '../__testUtils__/freePort';
import type { IdpUnderTest } from '../__testUtils__/IdpUnderTest';
import { RedisServer } from '../__testUtils__/RedisServer';
import { RoundRobinProxy } from '../__testUtils__/RoundRobinProxy';
import { staticKeyStoreConfig } from '../__testUtils__/staticSigningKeys';

const REFRESH_PATH = '/api/auth/keycloak-oidc/refresh';
const CATALOG_PATH = '/api/catalog/entities/by-name/user/default/alice';

/**
 * Two example backend processes behind a round-robin balancer without
 * sticky sessions, sharing Redis (sessions) and a static key store
 * (Backstage token signing keys; otherwise each replica's SQLite has its
 * own). The browser only knows the balancer's URL.
 */
export function describeReplicaStories(startIdp: () => Promise<IdpUnderTest>) {
  describe('the app in a browser, two replicas behind a round-robin balancer', () => {
    let idp: IdpUnderTest;
    let redisServer: RedisServer;
    let browser: Browser;
    let proxy: RoundRobinProxy;
    let publicUrl: string;
    const keyDir = mkdtempSync(join(tmpdir(), 'kc-browser-keys-'));
    const replicas: BackendProcess[] = [];
    const sessions: AppSession[] = [];

    beforeAll(async () => {
      assertAppBuilt();
      [idp, redisServer, browser] = await Promise.all([
        startIdp(),
        RedisServer.start(),
        launchChromium(),
      ]);
      publicUrl = `http://localhost:${await freePort()}`;
      const keyStore = staticKeyStoreConfig(keyDir);
      const started = await Promise.all(
        [0, 1].map(async () => {
          const replica = await BackendProcess.create(listenPort =>
            appBackendConfig({
              publicUrl,
              listenPort,
              redisUrl: redisServer.url,
              prefix: 'replicas:session:',
              issuer: idp.issuer,
              keyStore,
            }),
          );
          replicas.push(replica);
          await replica.start();
          await replica.waitForCatalogUser('alice');
          return replica;
        }),
      );
      proxy = await RoundRobinProxy.listen(
        Number(new URL(publicUrl).port),
        started.map(r => r.url),
      );
    });

    afterAll(async () => {
      await Promise.all(sessions.map(s => s.close()));
      await browser?.close();
      await proxy?.close();
      await Promise.all(replicas.map(r => r.dispose()));
      await redisServer?.dispose();
      await idp?.stop();
      rmSync(keyDir, { recursive: true, force: true });
    });

    it(
      'browsing with requests alternating between replicas never shows the sign-in page',
      withScreenshots(async () => {
        const session = await AppSession.open(browser, publicUrl);
        sessions.push(session);
        expect(await session.goto()).toBe('sign-in');
        await session.signIn('alice');
        const grantsAfterLogin = await idp.refreshGrants();

        const proxiedFrom = proxy.requests.length;
        const browsedFrom = session.requests.length;
        const checkAgain = session.page.getByRole('button', {
          name: 'Check again',
        });
        // Every reload refreshes the session (at Keycloak, with
        // minAccessTokenValidity 0, rotating the refresh token each time) on
        // whichever replica the balancer picks; "Check again" reads the
        // catalog with the Backstage token, on either replica.
        for (let round = 0; round < 8; round++) {
          expect(await session.reload()).toBe('home');
          for (let check = 0; check < 3; check++) {
            await checkAgain.click();
            await session.page.waitForLoadState('networkidle');
            expect(await session.text('user-entity-ref')).toBe(
              'user:default/alice',
            );
            expect(
              await session.attribute('catalog-entity', 'data-status'),
            ).toBe('200');
          }
          await session.page.waitForTimeout(1_000);
        }

        expect(await session.signInButton.count()).toBe(0);
        expect(await session.alerts()).toEqual([]);
        expect(session.context.pages()).toHaveLength(1); // never a login popup
        expect(
          session.requestsTo(new URL(idp.issuer).origin, browsedFrom),
        ).toEqual([]);

        // both replicas answered refreshes and catalog reads
        const served = proxy.requests.slice(proxiedFrom);
        for (const replica of replicas) {
          const byReplica = served.filter(r => r.upstream === replica.url);
          expect(
            byReplica.filter(r => r.path === REFRESH_PATH).length,
          ).toBeGreaterThan(0);
          expect(
            byReplica.filter(r => r.path === CATALOG_PATH).length,
          ).toBeGreaterThan(0);
        }
        // each replica refreshed with the refresh token the other one stored
        const grants = await idp.refreshGrants();
        expect(
          grants.granted - grantsAfterLogin.granted,
        ).toBeGreaterThanOrEqual(8);
        expect(grants.refused - grantsAfterLogin.refused).toBe(0);
      }),
    );
  });
}
