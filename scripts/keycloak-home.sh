#!/usr/bin/env bash
# Prints the Keycloak server distribution the real-Keycloak suite runs
# (yarn test:keycloak), obtaining it first when needed:
# - $KEYCLOAK_HOME when set (an installed Keycloak 26: it must hold bin/kc.sh);
# - else org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION (zip) from Maven
#   Central, unpacked once into a cache folder outside the repository.
# Fails at once, saying what is missing, when neither can be had: the suite
# never skips silently.
set -euo pipefail

version="${KEYCLOAK_VERSION:-26.7.3}"
cache="${KEYCLOAK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/backstage-keycloak-redis}"

fail() {
  echo "keycloak-home: $*" >&2
  echo "keycloak-home: point KEYCLOAK_HOME at an unpacked Keycloak 26 (the folder with bin/kc.sh), or install Java 17+ and Maven so the distribution can be fetched from Maven Central" >&2
  exit 1
}

command -v java >/dev/null 2>&1 || fail "no java on PATH (Keycloak 26 runs on OpenJDK 17, 21 or 25)"

if [ -n "${KEYCLOAK_HOME:-}" ]; then
  [ -x "$KEYCLOAK_HOME/bin/kc.sh" ] || fail "KEYCLOAK_HOME=$KEYCLOAK_HOME has no bin/kc.sh"
  echo "$KEYCLOAK_HOME"
  exit 0
fi

home="$cache/keycloak-$version"
if [ ! -x "$home/bin/kc.sh" ]; then
  command -v mvn >/dev/null 2>&1 || fail "no mvn on PATH to fetch org.keycloak:keycloak-quarkus-dist:$version"
  command -v unzip >/dev/null 2>&1 || fail "no unzip on PATH to unpack the Keycloak distribution"
  mkdir -p "$cache"
  echo "keycloak-home: fetching org.keycloak:keycloak-quarkus-dist:$version:zip into $cache" >&2
  mvn -q -B dependency:copy \
    "-Dartifact=org.keycloak:keycloak-quarkus-dist:$version:zip" \
    "-DoutputDirectory=$cache" >&2 ||
    fail "Maven could not fetch org.keycloak:keycloak-quarkus-dist:$version:zip"
  rm -rf "$home.partial"
  mkdir -p "$home.partial"
  unzip -q "$cache/keycloak-quarkus-dist-$version.zip" -d "$home.partial"
  mv "$home.partial/keycloak-$version" "$home"
  rm -rf "$home.partial" "$cache/keycloak-quarkus-dist-$version.zip"
fi
echo "$home"
