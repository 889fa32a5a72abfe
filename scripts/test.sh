#!/usr/bin/env bash
# Run the whole test suite on SQLite and PostgreSQL: installs the project, starts a throwaway
# PostgreSQL on loopback and makes sure Debian's Chromium is there for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh dev,bench  # the bench extra: SpiffWorkflow, for tests/bench
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
PATHWAY_TEST_POSTGRES_URL=$(scripts/postgres.sh start)
export PATHWAY_TEST_POSTGRES_URL
export PATHWAY_REQUIRE_POSTGRES=1
mkdir -p test-artifacts
exec .venv/bin/pytest "$@"
