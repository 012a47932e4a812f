#!/usr/bin/env bash
# Runs the repo's pinned yarn (packageManager in package.json) through
# corepack, fetching it from the npm registry npm is configured with, so a
# machine with only Node.js and npm needs nothing else.
set -euo pipefail
# (asked from / because inside a workspace package npm refuses: ENOWORKSPACES)
registry=$(cd / && npm config get registry 2>/dev/null | sed 's#/*$##' || true)
export COREPACK_NPM_REGISTRY="${COREPACK_NPM_REGISTRY:-${registry:-https://registry.npmjs.org}}"
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0
# Native modules (better-sqlite3, cpu-features) build with node-gyp, which
# would download the headers of the running Node.js from nodejs.org (not
# reachable everywhere) unless told where they are. Point it at the headers
# of the node on PATH, so that switching Node.js (scripts/node-home.sh 24)
# builds for that one, not for another installed next to it.
if [ -z "${npm_config_nodedir:-}" ]; then
  node_root=$(dirname "$(dirname "$(command -v node)")")
  if [ -f "$node_root/include/node/node.h" ]; then
    export npm_config_nodedir="$node_root"
  fi
fi
exec corepack yarn "$@"
