#!/bin/sh
# Browser libraries for the dashboard, served from api/static/vendor/ (never from a CDN:
# hospital networks are often closed).
#
# The built files are committed with their licences, so a fresh checkout runs offline with no
# npm step. This script is how they are (re)made: it installs the exact versions pinned in
# frontend/package-lock.json from the npm registry and copies the dist files over.
#
#   scripts/vendor-assets.sh          rebuild api/static/vendor/ from frontend/package-lock.json
#   scripts/vendor-assets.sh --check  verify the committed files against SHA256SUMS (offline)
#
# To upgrade: edit frontend/package.json, run `npm install --ignore-scripts` in frontend/,
# run this script, look at the pages, commit package*.json and api/static/vendor/ together.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENDOR="$ROOT/api/static/vendor"

if [ "${1:-}" = "--check" ]; then
    cd "$VENDOR" && sha256sum --quiet -c SHA256SUMS && echo "vendor assets match SHA256SUMS"
    exit 0
fi

cd "$ROOT/frontend"
npm ci --ignore-scripts --no-audit --no-fund
NM="$ROOT/frontend/node_modules"
mkdir -p "$VENDOR"
cp "$NM/chart.js/dist/chart.umd.min.js" "$VENDOR/chart.umd.min.js"
cp "$NM/chart.js/LICENSE.md" "$VENDOR/chart.js.LICENSE.md"
cp "$NM/@kurkle/color/LICENSE.md" "$VENDOR/kurkle-color.LICENSE.md"
cp "$NM/@mermaid-js/tiny/dist/mermaid.tiny.js" "$VENDOR/mermaid.tiny.js"
cp "$NM/@mermaid-js/tiny/LICENSE" "$VENDOR/mermaid.LICENSE"
node -e '
const lock = require(process.argv[1]);
const pick = ["node_modules/chart.js", "node_modules/@kurkle/color", "node_modules/@mermaid-js/tiny"];
console.log(pick.map(p => p.replace("node_modules/", "") + " " + lock.packages[p].version).join("\n"));
' "$ROOT/frontend/package-lock.json" > "$VENDOR/VERSIONS"
cd "$VENDOR"
sha256sum chart.umd.min.js mermaid.tiny.js > SHA256SUMS
echo "vendored into $VENDOR:"
cat VERSIONS
