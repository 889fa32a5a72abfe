#!/bin/sh
# Browser libraries for the dashboard and the API reference (/docs), served from
# api/static/vendor/ (never from a CDN: hospital networks are often closed).
#
# The built files are committed with their licences, so a fresh checkout runs offline with no
# npm step: by default this script only checks them against SHA256SUMS and rebuilds them (from
# the exact versions pinned in frontend/package-lock.json, via npm) when they are missing or
# do not match.
#
#   scripts/vendor-assets.sh            check; rebuild only if missing or changed
#   scripts/vendor-assets.sh --check    check only (offline); exit 1 on a mismatch
#   scripts/vendor-assets.sh --rebuild  always reinstall from the lockfile and copy
#
# To upgrade: edit frontend/package.json, run `npm install --ignore-scripts` in frontend/,
# run `scripts/vendor-assets.sh --rebuild`, look at the pages, and commit package*.json and
# api/static/vendor/ together.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENDOR="$ROOT/api/static/vendor"

mode=${1:-auto}
check() { (cd "$VENDOR" && sha256sum --quiet --status -c SHA256SUMS 2>/dev/null); }
case "$mode" in
  --check)
    if check; then echo "vendor assets match SHA256SUMS"; exit 0; fi
    echo "vendor assets missing or changed: run scripts/vendor-assets.sh --rebuild" >&2; exit 1 ;;
  auto)
    if check; then exit 0; fi
    echo "vendor assets missing or changed: rebuilding from frontend/package-lock.json" >&2 ;;
  --rebuild) ;;
  *) echo "usage: $0 [--check|--rebuild]" >&2; exit 2 ;;
esac

cd "$ROOT/frontend"
npm ci --ignore-scripts --no-audit --no-fund
NM="$ROOT/frontend/node_modules"
mkdir -p "$VENDOR"
cp "$NM/chart.js/dist/chart.umd.min.js" "$VENDOR/chart.umd.min.js"
cp "$NM/chart.js/LICENSE.md" "$VENDOR/chart.js.LICENSE.md"
cp "$NM/@kurkle/color/LICENSE.md" "$VENDOR/kurkle-color.LICENSE.md"
cp "$NM/@mermaid-js/tiny/dist/mermaid.tiny.js" "$VENDOR/mermaid.tiny.js"
cp "$NM/@mermaid-js/tiny/LICENSE" "$VENDOR/mermaid.LICENSE"
SUI="$NM/swagger-ui-dist"
mkdir -p "$VENDOR/swagger-ui"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt; do
  cp "$SUI/$f" "$VENDOR/swagger-ui/$f"
done
node -e '
const lock = require(process.argv[1]);
const pick = ["node_modules/chart.js", "node_modules/@kurkle/color", "node_modules/@mermaid-js/tiny",
              "node_modules/swagger-ui-dist"];
console.log(pick.map(p => p.replace("node_modules/", "") + " " + lock.packages[p].version).join("\n"));
' "$ROOT/frontend/package-lock.json" > "$VENDOR/VERSIONS"
cd "$VENDOR"
sha256sum chart.umd.min.js mermaid.tiny.js swagger-ui/swagger-ui-bundle.js swagger-ui/swagger-ui.css \
  > SHA256SUMS
echo "vendored into $VENDOR:"
cat VERSIONS
