import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MODULE_PACKAGE =
  '@redis-session/plugin-auth-backend-module-keycloak-oidc-provider';
export const FRONTEND_PACKAGE =
  '@redis-session/plugin-auth-keycloak-oidc-react';

/**
 * What a user does to a freshly generated app to use the module (and the
 * frontend package): exactly the README's install steps, as text edits of
 * the generated files, so `git diff` shows what they had to write. Each
 * edit fails loudly when the generated file no longer has the place it
 * goes, since that means the template changed under the README.
 */
export function applyUserChanges(
  appDir: string,
  tarballs: { module: string; frontend?: string },
  options: { usersCatalogFile: string },
) {
  // `yarn --cwd packages/backend add <module>`: one dependency line (a
  // tarball path here, a version range for a user)
  addDependency(
    join(appDir, 'packages/backend/package.json'),
    MODULE_PACKAGE,
    `file:${tarballs.module}`,
  );
  // packages/backend/src/index.ts: the one line
  insertAfter(
    join(appDir, 'packages/backend/src/index.ts'),
    "backend.add(import('@backstage/plugin-auth-backend'));\n",
    `backend.add(import('${MODULE_PACKAGE}'));\n`,
  );

  if (tarballs.frontend) {
    // app.packages: all in the generated app-config.yaml discovers the
    // frontend features of packages/app's dependencies: the dependency is
    // the frontend line
    const appConfig = readFileSync(join(appDir, 'app-config.yaml'), 'utf8');
    if (!/^ {2}packages: all$/m.test(appConfig)) {
      throw new Error(
        'the generated app-config.yaml no longer has `app.packages: all`: the frontend package is not discovered from package.json, it needs a `features: [...]` entry in packages/app/src/App.tsx',
      );
    }
    addDependency(
      join(appDir, 'packages/app/package.json'),
      FRONTEND_PACKAGE,
      `file:${tarballs.frontend}`,
    );
  }

  // app-config.yaml: the module's README config, values from the
  // environment as a deployment would have them
  const config = join(appDir, 'app-config.yaml');
  insertAfter(
    config,
    '\nauth:\n',
    [
      '  environment: development',
      '  session:',
      '    store: redis',
      '    redis:',
      '      url: ${REDIS_URL}',
      '',
    ].join('\n'),
  );
  insertAfter(
    config,
    '    guest: {}\n',
    [
      '    keycloak-oidc:',
      '      development:',
      '        metadataUrl: ${KEYCLOAK_METADATA_URL}',
      '        clientId: backstage',
      '        clientSecret: ${KEYCLOAK_CLIENT_SECRET}',
      '        signIn:',
      '          resolvers:',
      '            - resolver: keycloakIdMatchingUserEntityAnnotation',
      '            - resolver: preferredUsernameMatchingUserEntityName',
      '',
    ].join('\n'),
  );
  // the Keycloak users as catalog User entities (sign-in resolvers look
  // them up); in production the community Keycloak catalog module ingests
  // them, here the repository's examples/org.yaml
  insertAfter(
    config,
    '  locations:\n',
    [
      '    - type: file',
      `      target: ${options.usersCatalogFile}`,
      '      rules:',
      '        - allow: [User, Group]',
      '',
    ].join('\n'),
  );
}

function addDependency(file: string, name: string, range: string) {
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  // where `yarn add` puts it (before the first name sorting after it),
  // the other lines left as they are
  const entries = Object.entries(pkg.dependencies ?? {});
  const at = entries.findIndex(([other]) => other.localeCompare(name) > 0);
  entries.splice(at < 0 ? entries.length : at, 0, [name, range]);
  pkg.dependencies = Object.fromEntries(entries);
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
}

function insertAfter(file: string, anchor: string, text: string) {
  const content = readFileSync(file, 'utf8');
  const at = content.indexOf(anchor);
  if (at < 0 || content.indexOf(anchor, at + 1) >= 0) {
    throw new Error(
      `${file}: expected exactly one ${JSON.stringify(anchor)} to add the README's lines after; the generated app changed`,
    );
  }
  const end = at + anchor.length;
  writeFileSync(file, content.slice(0, end) + text + content.slice(end));
}

export interface LineCount {
  file: string;
  added: number;
  removed: number;
  kind: 'code' | 'dependency' | 'config';
  lines: string[];
}

/** `git diff --numstat` of the user's changes, split by kind; yarn.lock left out. */
export function countLines(numstat: string, diff: string): LineCount[] {
  const addedByFile = new Map<string, string[]>();
  let current = '';
  for (const line of diff.split('\n')) {
    if (line.startsWith('+++ b/')) current = line.slice(6);
    else if (line.startsWith('+') && !line.startsWith('+++')) {
      addedByFile.set(current, [
        ...(addedByFile.get(current) ?? []),
        line.slice(1),
      ]);
    }
  }
  return numstat
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(line => {
      const [added, removed, file] = line.split('\t');
      return { added: Number(added), removed: Number(removed), file };
    })
    .filter(({ file }) => !file.endsWith('yarn.lock'))
    .map(entry => ({
      ...entry,
      kind: kindOfChange(entry.file),
      lines: addedByFile.get(entry.file) ?? [],
    }));
}

function kindOfChange(file: string): 'code' | 'dependency' | 'config' {
  if (/\.(ts|tsx|js|jsx)$/.test(file)) return 'code';
  if (file.endsWith('package.json')) return 'dependency';
  return 'config';
}
