"""The dashboard's sessions on the wire: an ASGI middleware that gives each page
`request.session` (a dict: the user's name, the CSRF token, a flash message) kept
server-side by `pathway.sessions`, and carries only the session's random token in the
`pathway_session` cookie (HttpOnly, SameSite=Lax, Secure when `secure_cookies`).

Starlette's `SessionMiddleware` is not used: its session is the cookie itself (signed,
stateless), so logout could not end a copied cookie, and processes without a shared secret
could not read each other's. This one reads the session's row before the page and writes
it (if anything changed) before the response starts; a lapsed session is ended and the
browser starts anonymous again with a message saying why.
"""

from __future__ import annotations

import datetime as dt
import logging
from http.cookies import SimpleCookie
from typing import Any

from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.dashboard.security import NOT_DASHBOARD
from pathway.runtime import Runtime
from pathway.sessions import Resumed, needs_writing, persist, resume
from pathway.store.db import read_only, transaction
from pathway.store.web_sessions import StoredSession

log = logging.getLogger("pathway.dashboard")
SESSION_COOKIE = "pathway_session"
#: Where the middleware leaves the request's going session for `api.dashboard.web`.
SCOPE_KEY = "pathway.web_session"

LAPSED_MESSAGES = {
    "idle": "You were logged out after a while without activity. Log in again.",
    "expired": "Your session reached its time limit. Log in again.",
    "deactivated": "Your account has been deactivated.",
}


class SessionState(dict[str, Any]):
    """A request's session state; remembers whether it was cleared (logout, login), which
    ends the stored session rather than changing it."""

    cleared = False

    def clear(self) -> None:
        self.cleared = True
        super().clear()


def going_session(scope: Scope) -> StoredSession | None:
    """The request's going session with a user, if it has one."""
    stored = scope.get(SCOPE_KEY)
    return stored if isinstance(stored, StoredSession) else None


def _token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header: as if it had none
                continue
            if SESSION_COOKIE in jar:
                return jar[SESSION_COOKIE].value
    return None


#: What a database that is down or overloaded raises (as `api.problems` answers 503 for).
DATABASE_DOWN = (OperationalError, DisconnectionError, PoolTimeout)
UNAVAILABLE = ("<!doctype html><title>Unavailable · Pathway</title><h1>Unavailable</h1>"
               "<p>The database is unavailable just now. Nothing was changed; try again in a "
               "moment.</p>")


async def _unavailable(exc: Exception, send: Send) -> None:
    log.warning("dashboard session store unavailable: %s", type(exc).__name__)
    response = HTMLResponse(UNAVAILABLE, status_code=503,
                            headers={"Retry-After": "5", "Cache-Control": "no-store"})
    await send({"type": "http.response.start", "status": response.status_code,
                "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


class ServerSessions:
    """ASGI middleware: server-side sessions for the dashboard's paths."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.policy = runtime.session_policy

    def _resume(self, token: str | None) -> tuple[Resumed, dt.datetime]:
        now = self.runtime.now()
        with read_only(self.runtime.sessions()) as db:
            return resume(db, token, now=now, policy=self.policy), now

    def _persist(self, resumed: Resumed, state: SessionState, client: str | None) -> str | None:
        now = self.runtime.now()
        with transaction(self.runtime.sessions) as db:
            return persist(db, resumed, dict(state), cleared=state.cleared,
                           client_address=client, now=now, policy=self.policy).token

    def _cookie(self, token: str | None) -> str:
        response = Response()
        if token is None:
            response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax",
                                   secure=self.runtime.settings.secure_cookies)
        else:
            response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                                secure=self.runtime.settings.secure_cookies,
                                max_age=int(self.policy.absolute.total_seconds()))
        return response.headers["set-cookie"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path or path.startswith(NOT_DASHBOARD) or path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        token = _token(scope)
        try:
            resumed, now = await run_in_threadpool(self._resume, token)
        except DATABASE_DOWN as exc:
            await _unavailable(exc, send)
            return
        state = SessionState(resumed.state)
        if resumed.lapsed in LAPSED_MESSAGES:
            state["flash"] = {"kind": "error", "message": LAPSED_MESSAGES[resumed.lapsed]}
        scope["session"] = state
        if resumed.stored is not None and resumed.stored.username is not None:
            scope[SCOPE_KEY] = resumed.stored
        client = scope["client"][0][:64] if scope.get("client") else None

        failed = False

        async def send_saving(message: Message) -> None:
            nonlocal failed
            if failed:  # the session could not be saved: the 503 went instead
                return
            if message["type"] == "http.response.start" and needs_writing(
                    resumed, dict(state), cleared=state.cleared, now=now, policy=self.policy):
                try:
                    new_token = await run_in_threadpool(self._persist, resumed, state, client)
                except DATABASE_DOWN as exc:
                    # A logout or login that cannot be written must not look done.
                    failed = True
                    await _unavailable(exc, send)
                    return
                ended = state.cleared or resumed.lapsed is not None
                if new_token is not None or (ended and token is not None):
                    MutableHeaders(scope=message).append("set-cookie", self._cookie(new_token))
            await send(message)

        await self.app(scope, receive, send_saving)
