import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const APP_INDEX = resolve(
  __dirname,
  '../../../../packages/app/dist/index.html',
);

/**
 * The browser suites run against the production build that the example
 * backend's app plugin serves; a stale or missing build would test the
 * wrong thing, so `yarn test:e2e` builds it first.
 */
export function assertAppBuilt() {
  if (!existsSync(APP_INDEX)) {
    throw new Error(
      `${APP_INDEX} is missing: run \`yarn test:e2e\` (it builds packages/app first) or \`yarn workspace app build\``,
    );
  }
}
