"""ASGI middleware: request logging and counting, body size limit, input the database refuses.

- `RequestLog` logs method, route template, status and duration (plus the episode or reminder
  id of a request that succeeded, as the integer the route accepted), never the path a client
  sent, the query string or the body: those may carry MRNs or names (and every value is
  escaped by the log's handlers, `pathway.logs`).
- `BodyGuard` answers 413 when `Content-Length` or the streamed body exceeds
  `settings.max_body_bytes` (the body is buffered, at most that size, and replayed to the app),
  and 422 when a JSON or form body or the query string carries text no database can store
  (NUL characters, lone surrogates) or a JSON object repeats a key (a parser would silently
  keep the last), naming the field. Under `/v1` the caller is authenticated first: a request
  the guard would refuse, or whose JSON is malformed, gets 401 without a live API key, so an
  unauthenticated client learns nothing about its body. Only a refused body costs that
  lookup; a well-formed request is authenticated once, by its route (`api.auth`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import token_of, unauthenticated
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
            self.counter.add(scope["method"], route, status)
            log.info("%s %s %s %.1fms%s", scope["method"], route, status,
                     (time.perf_counter() - started) * 1000,
                     logged_ids(scope.get("path_params", {}), status))


def logged_ids(path_params: Mapping[str, Any], status: int) -> str:
    """` episode_id=12` for the ids of a request that succeeded, else nothing: the path of a
    refused request (401, 404, 422) is whatever a client typed, a patient's name perhaps, so
    only its route template is logged."""
    if status >= 400:
        return ""
    return "".join(f" {name}={int(value)}" for name, value in path_params.items()
                   if name in ID_PARAMS and _is_id(value))


def _is_id(value: object) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10


UNSTORABLE = "unstorable characters"
REPEATED = "duplicate key"
MALFORMED = "malformed JSON"


@dataclass(frozen=True)
class BodyProblem:
    """What is wrong with a request's input: the field at fault and why (one of the above)."""

    field: str
    reason: str


class JsonObject(dict[str, Any]):
    """A JSON object as parsed, with the keys its text gave more than once."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> JsonObject:
    found = JsonObject(pairs)
    if len(found) < len(pairs):
        seen: set[str] = set()
        repeated = []
        for key, _ in pairs:
            if key in seen:
                repeated.append(key)
            seen.add(key)
        found.repeated = tuple(repeated)
    return found


def _bad_text(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _child(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _nodes(document: Any) -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) in a JSON document, the document itself at ""; no recursion."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend((_child(path, key), item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((_child(path, i), item) for i, item in enumerate(value))


def _node_problem(path: str, value: Any) -> BodyProblem | None:
    if isinstance(value, str):
        return BodyProblem(path or "body", UNSTORABLE) if _bad_text(value) else None
    if not isinstance(value, dict):
        return None
    bad_key = next((key for key in value if _bad_text(key)), None)
    if bad_key is not None:
        return BodyProblem(_child(path, bad_key), UNSTORABLE)
    if isinstance(value, JsonObject) and value.repeated:
        return BodyProblem(_child(path, value.repeated[0]), REPEATED)
    return None


def json_problem(body: bytes) -> BodyProblem | None:
    """The first unstorable text or repeated key of a JSON body, or MALFORMED, or None."""
    try:
        document = json.loads(body, object_pairs_hook=_object)
    except (ValueError, RecursionError):
        return BodyProblem("body", MALFORMED)
    return next((found for path, value in _nodes(document)
                 if (found := _node_problem(path, value)) is not None), None)


def body_problem(body: bytes, content_type: str, query: bytes) -> BodyProblem | None:
    """What is wrong with the query string or the body, if anything (module docstring)."""
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if _bad_text(key) or _bad_text(value):
            return BodyProblem(key if not _bad_text(key) else "query", UNSTORABLE)
    if "json" in content_type and body:
        return json_problem(body)
    if "x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        field = next((k for k, v in pairs if _bad_text(k) or _bad_text(v)), None)
        return None if field is None else BodyProblem(field, UNSTORABLE)
    return None


def _needs_key(scope: Scope) -> bool:
    path = str(scope.get("path", ""))
    return path == "/v1" or path.startswith("/v1/")


class BodyGuard:
    """Refuse bodies over the limit (413), unstorable text and repeated keys (422) before the
    app sees them; under `/v1`, only once the caller has a live API key (else 401)."""

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

    async def _refuse_field(self, scope: Scope, receive: Receive, send: Send,
                            problem: BodyProblem) -> None:
        if problem.reason == REPEATED:
            detail = f"{problem.field}: a key must appear once in an object"
        else:
            detail = f"{problem.field}: must not contain NUL characters or unpaired surrogates"
        await self._refuse(scope, receive, send, 422, "invalid-data", detail,
                           field=problem.field,
                           errors=[{"field": problem.field, "detail": problem.reason}])

    async def _refused_caller(self, scope: Scope, receive: Receive, send: Send,
                              headers: Mapping[str, str]) -> bool:
        """Answer 401 (and say so) if an API request has no live key; else False."""
        if not _needs_key(scope):
            return False
        token = token_of(headers.get("authorization"))
        runtime = scope["app"].state.runtime
        problem = await run_in_threadpool(unauthenticated, token, runtime.sessions,
                                          runtime.now())
        if problem is None:
            return False
        response = problem_response(problem.status, slug=problem.slug, detail=problem.detail,
                                    instance=scope.get("path"), headers=problem.headers)
        await response(scope, receive, send)
        return True

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
            if not await self._refused_caller(scope, receive, send, headers):
                await self._refuse_too_large(scope, receive, send)
            return
        body = await self._read_body(receive)
        if body is None:
            return  # the client went away
        await self._judge(scope, receive, send, headers, body)

    async def _judge(self, scope: Scope, receive: Receive, send: Send,
                     headers: Mapping[str, str], body: bytes) -> None:
        """Refuse the buffered body, or hand it to the app (malformed JSON it answers itself,
        in the shape of its other validation errors)."""
        too_large = len(body) > self.limit
        problem = None if too_large else body_problem(
            body, headers.get("content-type", ""), scope.get("query_string", b""))
        if (too_large or problem) and await self._refused_caller(scope, receive, send,
                                                                 headers):
            return
        if too_large:
            await self._refuse_too_large(scope, receive, send)
        elif problem is not None and problem.reason != MALFORMED:
            await self._refuse_field(scope, receive, send, problem)
        else:
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
