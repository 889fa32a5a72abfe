"""The dashboard's browser security: response headers and CSRF tokens.

Sessions are server-side (`api.dashboard.sessions`); what one holds is the user, the CSRF
token and a flash message, never patient data. Every form carries the session's token
(synchronizer pattern) and a POST whose token is missing or wrong is refused with 403.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_FIELD = "csrf_token"
CSRF_SESSION_KEY = "csrf"

#: No inline script anywhere: page data travels in `<script type="application/json">` blocks.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: Mermaid writes a <style> element into the SVG it draws, so the diagram page allows inline
#: *styles* (never inline script).
DIAGRAM_CSP = STRICT_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

#: Paths that belong to other parts of the app (the integration API and its docs).
NOT_DASHBOARD = ("/v1", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/metrics")


def base_headers(path: str) -> dict[str, str]:
    """The headers every dashboard response carries."""
    headers = {
        "Content-Security-Policy": STRICT_CSP,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if not path.startswith("/static/"):
        # Pages show patient data: never keep them in a shared or back-button cache.
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeaders:
    """ASGI middleware adding `base_headers` to dashboard responses (a route's own win)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path or path.startswith(NOT_DASHBOARD):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in base_headers(path).items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(session: dict[str, object]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def csrf_ok(session: Mapping[str, object], presented: object) -> bool:
    """Whether a form's token matches the session's (constant-time)."""
    expected = session.get(CSRF_SESSION_KEY)
    if not isinstance(expected, str) or not isinstance(presented, str) or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())
