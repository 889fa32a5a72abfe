"""The API reference at `/docs`: Swagger UI 5 served from `api/static/vendor/swagger-ui/`.

FastAPI's default pages load Swagger UI and ReDoc from a CDN: hospital networks are often
closed, and a third-party script on the dashboard's origin could read patient pages. The files
are vendored like the dashboard's libraries (`api/static/vendor/README.md`: npm lockfile,
SHA256SUMS, licence beside them); Swagger UI 5 renders the OpenAPI 3.1 that FastAPI emits.

The page's only inline script is the constant `INITIALIZER`: it reads the document's URL from
the page, so its hash (`INITIALIZER_CSP_SOURCE`) is fixed and the page's Content-Security-Policy
(`api.headers`) allows that one script and no other inline code.
"""

from __future__ import annotations

import base64
import hashlib
import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_PATH = "/docs"
ASSETS = "/docs/assets"
SWAGGER_UI_DIR = Path(__file__).resolve().parent / "static" / "vendor" / "swagger-ui"
FAVICON = "/static/favicon.svg"

#: No validator badge (it would send the document to validator.swagger.io) and no stored
#: authorization (an API key in localStorage outlives the tab).
INITIALIZER = """\
window.onload = function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.dataset.openapiUrl,
    domNode: node,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    displayRequestDuration: true,
    validatorUrl: null,
    persistAuthorization: false
  });
};
"""
INITIALIZER_CSP_SOURCE = (
    "'sha256-" + base64.b64encode(hashlib.sha256(INITIALIZER.encode()).digest()).decode() + "'"
)

PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{favicon}" type="image/svg+xml">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>{initializer}</script>
</body>
</html>
"""


def docs_page(*, title: str, openapi_url: str) -> str:
    """The HTML of `/docs` for an app's title and OpenAPI URL."""
    return PAGE.format(title=html.escape(title), favicon=FAVICON, assets=ASSETS,
                       openapi_url=html.escape(openapi_url), initializer=INITIALIZER)


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` and its assets locally (create the app with docs_url=None, redoc_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=SWAGGER_UI_DIR), name="docs-assets")
    page = docs_page(title=f"{app.title} API", openapi_url=app.openapi_url or "/openapi.json")

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)
