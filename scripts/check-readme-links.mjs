#!/usr/bin/env node
// Fails when the README.md of a published workspace (one not "private": true,
// under the root package.json's workspaces) has a relative link or image.
// npm shows the README out of the tarball, where ../../docs/… and the like are
// dead; such links must be absolute, e.g.
// https://github.com/redis-session/backstage-keycloak-redis-sessions/blob/main/docs/metrics.md
// In-page anchors (#section), http(s) and mailto links are fine. Fenced code
// blocks and inline code are not checked.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  '..',
);
const rootPkg = JSON.parse(
  fs.readFileSync(path.join(root, 'package.json'), 'utf8'),
);
const patterns = Array.isArray(rootPkg.workspaces)
  ? rootPkg.workspaces
  : (rootPkg.workspaces?.packages ?? []);

function workspaceDirs() {
  const dirs = [];
  for (const pattern of patterns) {
    if (!pattern.endsWith('/*')) {
      dirs.push(pattern);
      continue;
    }
    const parent = path.join(root, pattern.slice(0, -2));
    if (!fs.existsSync(parent)) continue;
    for (const entry of fs.readdirSync(parent, { withFileTypes: true })) {
      if (entry.isDirectory())
        dirs.push(path.join(pattern.slice(0, -2), entry.name));
    }
  }
  return dirs;
}

const fine = target => /^(https?:|mailto:|#)/i.test(target);

function relativeLinks(markdown) {
  const found = [];
  let inFence = false;
  markdown.split('\n').forEach((line, index) => {
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      return;
    }
    if (inFence) return;
    const text = line.replace(/`[^`]*`/g, '');
    const targets = [
      ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)/g)].map(m => m[1]),
      ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/g)].map(
        m => m[1],
      ),
      ...[...text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/gi)].map(
        m => m[1],
      ),
    ];
    for (const target of targets) {
      if (!fine(target)) found.push({ line: index + 1, target });
    }
  });
  return found;
}

let failures = 0;
for (const dir of workspaceDirs()) {
  const pkgPath = path.join(root, dir, 'package.json');
  if (!fs.existsSync(pkgPath)) continue;
  const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
  if (pkg.private) continue;
  const readme = path.join(root, dir, 'README.md');
  if (!fs.existsSync(readme)) {
    console.error(`${dir}: published package without a README.md`);
    failures++;
    continue;
  }
  const links = relativeLinks(fs.readFileSync(readme, 'utf8'));
  for (const { line, target } of links) {
    console.error(
      `${dir}/README.md:${line}: relative link ${target} (dead in the published package; make it absolute)`,
    );
  }
  failures += links.length;
  if (links.length === 0) console.log(`${dir}/README.md: no relative links`);
}
process.exit(failures ? 1 : 0);
