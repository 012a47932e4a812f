#!/usr/bin/env bash
# Runs the repo's pinned yarn (packageManager in package.json) through
# corepack, fetching it from the npm registry npm is configured with, so a
# machine with only Node.js and npm needs nothing else.
set -euo pipefail
# (asked from / because inside a workspace package npm refuses: ENOWORKSPACES)
registry=$(cd / && npm config get registry 2>/dev/null | sed 's#/*$##' || true)
export COREPACK_NPM_REGISTRY="${COREPACK_NPM_REGISTRY:-${registry:-https://registry.npmjs.org}}"
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0
exec corepack yarn "$@"
