"""The response headers of the integration API and its reference, in one pure ASGI middleware.

- `/v1`: `Cache-Control: no-store` and `X-Content-Type-Options: nosniff` on every response,
  errors included (401, 404, 413, 422 carry the path a client sent, perhaps a name): bodies
  hold names, MRNs and birth dates, which no browser, proxy or back-button cache may keep.
- `/docs`: `DOCS_CSP` (same origin only, plus the page's one inline initializer by its hash,
  `api.docs`), `frame-ancestors 'none'` and `X-Frame-Options: DENY` so no other site can frame
  the page where a user types an API key; `nosniff` there, on its assets and `/openapi.json`.
- every response, when `settings.secure_cookies` says the site is served over HTTPS:
  `Strict-Transport-Security` for a year (without `includeSubDomains`: other hosts of a
  hospital's domain are not ours to move to HTTPS).

The dashboard's pages get their own headers from `api.dashboard.security`. The middleware sets
these values over any a route chose: they are policy, not defaults. It sits outside every other
middleware of the app, so the body guard's refusals carry them too; a 500 rendered by
Starlette's outermost error middleware does not pass through it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.docs import ASSETS, DOCS_PATH, INITIALIZER_CSP_SOURCE

API_PREFIX = "/v1"
OPENAPI_PATH = "/openapi.json"
HSTS = "max-age=31536000"

#: Swagger UI's own script and stylesheet, its icons as data: URLs in that stylesheet,
#: "Try it out" requests to this origin; nothing else, and no form or frame anywhere.
DOCS_CSP = (
    f"default-src 'none'; script-src 'self' {INITIALIZER_CSP_SOURCE}; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
DOCS_HEADERS = {"Content-Security-Policy": DOCS_CSP, "X-Frame-Options": "DENY",
                "X-Content-Type-Options": "nosniff"}
ASSET_HEADERS = {"X-Content-Type-Options": "nosniff"}


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def headers_for(path: str, *, https: bool) -> dict[str, str]:
    """The headers a response to `path` must carry (`https`: secure cookies are on)."""
    if _under(path, API_PREFIX):
        headers = dict(API_HEADERS)
    elif path == DOCS_PATH:
        headers = dict(DOCS_HEADERS)
    elif _under(path, ASSETS) or path == OPENAPI_PATH:
        headers = dict(ASSET_HEADERS)
    else:
        headers = {}
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


class HeaderPolicy:
    """ASGI middleware that puts `headers_for(path)` on every HTTP response."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = headers_for(scope["path"], https=self.https)
        if not policy:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in policy.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_policy)
