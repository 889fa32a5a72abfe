#!/usr/bin/env bash
# Run the product on the embedded SQLite default: API, dashboard and scheduler in one process,
# with demo data, printing where to open it and how to log in.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
export PATHWAY_DATABASE_URL=${PATHWAY_DATABASE_URL:-sqlite:///$(pwd)/pathway.db}
.venv/bin/pathway demo-setup --episodes "${PATHWAY_DEMO_EPISODES:-400}"
exec .venv/bin/pathway serve
