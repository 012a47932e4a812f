import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../fixtures/Chromium';
import { devUsers, type DevUserName } from '../fixtures/users';

const WAIT_MS = 60_000;

/**
 * The user's story in the generated app, in Chromium: the app's sign-in
 * page offers Keycloak; the dev IdP's login form; back in the app the
 * Settings page shows the signed-in identity, and Settings ->
 * Authentication Providers lists Keycloak. Screenshots of every page on
 * failure.
 */
export async function signInStory(options: {
  appUrl: string;
  user: DevUserName;
  displayName: string;
  screenshots: string;
}) {
  const browser = await launchChromium();
  let context: BrowserContext | undefined;
  const problems: string[] = [];
  try {
    context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', error =>
      problems.push(`page error: ${error.message}`),
    );
    page.on('console', msg => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    await page.goto(options.appUrl);
    // the frontend package's sign-in page: one Keycloak provider
    const signInButton = page.getByRole('button', { name: 'Sign in' });
    await page
      .getByText(/keycloak/i)
      .first()
      .waitFor({ timeout: WAIT_MS });
    const [popup] = await Promise.all([
      context.waitForEvent('page', { timeout: WAIT_MS }),
      signInButton.first().click(),
    ]);
    const closed = popup.waitForEvent('close', { timeout: WAIT_MS });
    await popup.locator('input[name=username]').waitFor({ timeout: WAIT_MS });
    await popup.locator('input[name=username]').fill(options.user);
    await popup
      .locator('input[name=password]')
      .fill(devUsers[options.user].password);
    await popup.locator('[type=submit]').first().click();
    await closed;
    await signInButton.first().waitFor({ state: 'detached', timeout: WAIT_MS });

    // the identity the backend issued, as the app's own fetches see it
    const identity = await page.evaluate(async () => {
      const res = await fetch(
        '/api/auth/keycloak-oidc/refresh?optional&env=development',
        { headers: { 'X-Requested-With': 'XMLHttpRequest' } },
      );
      return { status: res.status, body: await res.text() };
    });
    const userEntityRef = `user:default/${options.user}`;
    if (identity.status !== 200 || !identity.body.includes(userEntityRef)) {
      throw new Error(
        `/api/auth/keycloak-oidc/refresh answered ${identity.status} without ${userEntityRef}: ${identity.body.slice(0, 500)}`,
      );
    }

    // Settings: the profile card and the Backstage identity card
    await page.goto(`${options.appUrl}/settings`);
    // exact: while the card loads it also says "No Backstage Identity"
    await page
      .getByText('Backstage Identity', { exact: true })
      .waitFor({ timeout: WAIT_MS });
    await page
      .getByText(options.displayName)
      .first()
      .waitFor({ timeout: WAIT_MS });
    // "User Entity:" links the signed-in user's catalog entity
    const userLink = page.locator(
      `a[href$="/catalog/default/user/${options.user}"]`,
    );
    await userLink
      .first()
      .waitFor({ timeout: WAIT_MS })
      .catch(async () => {
        throw new Error(
          `Settings links no user:default/${options.user}:\n${await page
            .locator('body')
            .innerText()}`,
        );
      });
    await expectNoErrorToasts(page, 'Settings');

    // Settings -> Authentication Providers lists Keycloak
    await page.getByRole('tab', { name: 'Authentication Providers' }).click();
    await page.waitForURL(/\/settings\/auth-providers/, { timeout: WAIT_MS });
    await page.getByText('Available Providers').waitFor({ timeout: WAIT_MS });
    const providers = page
      .locator('li')
      .filter({ hasText: /keycloak/i })
      .first();
    await providers.waitFor({ timeout: WAIT_MS }).catch(async () => {
      throw new Error(
        `Settings -> Authentication Providers lists no Keycloak entry:\n${await page
          .locator('main')
          .innerText()
          .catch(() => '')}`,
      );
    });
    await page.screenshot({
      path: join(options.screenshots, 'auth-providers.png'),
      fullPage: true,
    });
    await expectNoErrorToasts(page, 'Settings -> Authentication Providers');
  } catch (error) {
    if (context) {
      mkdirSync(options.screenshots, { recursive: true });
      let i = 0;
      const files: string[] = [];
      for (const p of context.pages()) {
        const file = join(options.screenshots, `failure-${++i}.png`);
        await p
          .screenshot({ path: file, fullPage: true, timeout: 5_000 })
          .then(() => files.push(`${file} (${p.url()})`))
          .catch(() => {});
      }
      if (error instanceof Error) {
        error.message += `\n\nScreenshots:\n${files.join('\n')}`;
        if (problems.length) {
          error.message += `\n\nBrowser errors:\n${problems.slice(0, 20).join('\n')}`;
        }
      }
    }
    throw error;
  } finally {
    await browser.close();
  }
}

/** The app's error toasts and failed extensions ("Error in extension ..."). */
async function expectNoErrorToasts(page: Page, where: string) {
  await page.waitForLoadState('networkidle');
  const text = await page.locator('body').innerText();
  const errors = text
    .split('\n')
    .filter(line =>
      /Error in extension|App context is not available/.test(line),
    );
  if (errors.length > 0) {
    throw new Error(
      `${where} shows errors:\n${[...new Set(errors)].join('\n')}`,
    );
  }
}
