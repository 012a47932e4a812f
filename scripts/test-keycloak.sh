#!/usr/bin/env bash
# yarn test:keycloak: the module through real Backstage backends against a
# real Keycloak server (obtained by keycloak-home.sh) and real redis-server
# processes. Extra arguments go to Jest (e.g. a test file).
set -euo pipefail
cd "$(dirname "$0")/.."
KEYCLOAK_HOME="$(bash scripts/keycloak-home.sh)"
export KEYCLOAK_HOME
echo "real-Keycloak suite: $(cat "$KEYCLOAK_HOME/version.txt" 2>/dev/null || echo 'Keycloak (no version.txt)') at $KEYCLOAK_HOME; $(java -version 2>&1 | head -1)"
export CI="${CI:-1}"
exec ./scripts/yarn.sh workspace @redis-session/e2e-test test:keycloak "$@"
