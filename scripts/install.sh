#!/usr/bin/env bash
# Create the virtual environment and install the project (with the dev extra when asked).
set -euo pipefail
cd "$(dirname "$0")/.."
extra=${1:-}
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || {
    echo "python3 -m venv failed; installing python3-venv" >&2
    apt-get update -qq && apt-get install -y -qq python3-venv && "$python" -m venv .venv
  }
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ -n "$extra" ]; then
  .venv/bin/python -m pip install -q -e ".[$extra]"
else
  .venv/bin/python -m pip install -q -e .
fi
if [ -x scripts/vendor-assets.sh ]; then
  scripts/vendor-assets.sh
fi
