"""`api/static/vendor/`: the vendored browser libraries are the ones the lockfile pins.

Every script and stylesheet there is listed in SHA256SUMS with its digest (the same check as
`scripts/vendor-assets.sh --check`), VERSIONS says what `frontend/package-lock.json` pins, each
library has its licence beside it, and `/docs` loads only vendored, checked files.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from api.docs import ASSETS, SWAGGER_UI_DIR, docs_page

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "api" / "static" / "vendor"
LOCKFILE = ROOT / "frontend" / "package-lock.json"
SERVED = {".js", ".css", ".mjs", ".wasm"}
LICENCES = {"chart.js": "chart.js.LICENSE.md", "@kurkle/color": "kurkle-color.LICENSE.md",
            "@mermaid-js/tiny": "mermaid.LICENSE", "swagger-ui-dist": "swagger-ui/LICENSE"}


def _sums() -> dict[str, str]:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines)}


def test_every_vendored_script_and_stylesheet_matches_sha256sums() -> None:
    sums = _sums()
    served = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.suffix in SERVED}
    assert served == set(sums), "SHA256SUMS must list exactly the vendored scripts and styles"
    assert {"swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css"} <= set(sums)
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_versions_are_the_lockfiles_and_each_has_its_licence() -> None:
    packages = json.loads(LOCKFILE.read_text())["packages"]
    versions = dict(line.split() for line in (VENDOR / "VERSIONS").read_text().splitlines())
    assert versions == {name: packages[f"node_modules/{name}"]["version"] for name in versions}
    assert versions["swagger-ui-dist"].startswith("5.")
    assert set(versions) == set(LICENCES)
    for licence in LICENCES.values():
        assert (VENDOR / licence).read_text().strip(), licence


def test_docs_load_only_checked_vendored_files() -> None:
    page = docs_page(title="Pathway API", openapi_url="/openapi.json")
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assets = [url for url in loaded if url.startswith(ASSETS + "/")]
    assert len(assets) == 2 and all(not url.startswith("http") for url in loaded)
    sums = _sums()
    for url in assets:
        name = url.removeprefix(ASSETS + "/")
        assert (SWAGGER_UI_DIR / name).is_file(), url
        assert f"swagger-ui/{name}" in sums, url
