"""ASGI middleware: request logging and counting, body size limit, input the database refuses.

- `RequestLog` logs method, route template, status and duration (plus the episode or reminder
  id from the path), never the query string or the body: those may carry MRNs or names.
- `BodyGuard` answers 413 when `Content-Length` or the streamed body exceeds
  `settings.max_body_bytes` (the body is buffered, at most that size, and replayed to the app),
  and 422 when a JSON or form body or the query string carries text no database can store
  (NUL characters, lone surrogates), naming the field.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import RequestCounter
from api.problems import problem_response

log = logging.getLogger("pathway.api")
ID_PARAMS = ("episode_id", "reminder_id", "subscription_id", "delivery_id")


class RequestLog:
    """Log and count every HTTP request by route template (no patient data)."""

    def __init__(self, app: ASGIApp, counter: RequestCounter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            ids = {k: v for k, v in scope.get("path_params", {}).items() if k in ID_PARAMS}
            self.counter.add(scope["method"], route, status)
            log.info("%s %s %s %.1fms%s", scope["method"], route, status,
                     (time.perf_counter() - started) * 1000,
                     "".join(f" {k}={v}" for k, v in ids.items()))


def _bad_text(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _strings(document: Any) -> Iterator[tuple[str, str]]:
    """Every (dotted path, string) in a JSON document, keys included; no recursion."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path or "body", value
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                yield child, str(key)
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item)
                         for i, item in enumerate(value))


def unstorable_field(body: bytes, content_type: str, query: bytes) -> str | None:
    """The first field whose text a database cannot store, if any."""
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if _bad_text(key) or _bad_text(value):
            return key if not _bad_text(key) else "query"
    if "json" in content_type and body:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return None  # the app answers malformed JSON itself
        return next((path for path, text in _strings(document) if _bad_text(text)), None)
    if "x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return next((k for k, v in pairs if _bad_text(k) or _bad_text(v)), None)
    return None


class BodyGuard:
    """Refuse bodies over the limit (413) and unstorable text (422) before the app sees them."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int,
                      slug: str, detail: str, **extra: Any) -> None:
        response = problem_response(status, slug=slug, detail=detail,
                                    instance=scope.get("path"), **extra)
        await response(scope, receive, send)

    async def _refuse_too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._refuse(scope, receive, send, 413, "body-too-large",
                           f"the body must be at most {self.limit} bytes")

    async def _refuse_unstorable(self, scope: Scope, receive: Receive, send: Send,
                                 field: str) -> None:
        detail = f"{field}: must not contain NUL characters or unpaired surrogates"
        await self._refuse(scope, receive, send, 422, "invalid-data", detail, field=field,
                           errors=[{"field": field, "detail": "unstorable characters"}])

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or what was read once it passed the limit (longer than the limit);
        None if the client went away."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            if size > self.limit or not message.get("more_body", False):
                return b"".join(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            await self._refuse_too_large(scope, receive, send)
            return
        body = await self._read_body(receive)
        if body is None:
            return  # the client went away
        if len(body) > self.limit:
            await self._refuse_too_large(scope, receive, send)
            return
        field = unstorable_field(body, headers.get("content-type", ""),
                                 scope.get("query_string", b""))
        if field is not None:
            await self._refuse_unstorable(scope, receive, send, field)
            return
        await self.app(scope, _replaying(body, receive), send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the buffered body once, then whatever the client sends next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
