"""`Idempotency-Key` on POST: a retry with the same key and body gets the first response again.

The record is written in the request's own transaction: a placeholder row is inserted before
the route does anything (so a concurrent request with the same key waits on it, then replays;
nothing is rolled back mid-request, `pathway.store.idempotency`), and filled with the response
when the route succeeds. An error rolls the placeholder back with everything else (the route
ends the transaction, `api.units`), so a failed request may be retried with the same key.
Keys are per caller. The same key with another body, method or path gets 422. A key and its
response are kept for `Settings.idempotency_retention_hours` (24), then deleted by the
scheduler (`pathway.store.retention`): after that the same key is a new request.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from api.auth import Caller, require
from api.problems import ApiProblem
from api.units import Unit, UnitDep
from pathway.errors import InvalidData
from pathway.permissions import Action
from pathway.store import idempotency as keys

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
STORED_HEADERS = ("location", "etag", "content-type")


class IdempotentReplay(Exception):
    """The request repeats an earlier one: answer with the stored response."""

    def __init__(self, response: Response) -> None:
        self.response = response
        super().__init__("replayed")


def body_fingerprint(body: bytes) -> str:
    """SHA-256 of the body, JSON canonicalised so key order and spacing do not matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
        data = canonical.encode()
    except (ValueError, RecursionError):
        data = body
    return hashlib.sha256(data).hexdigest()


@dataclass
class Idempotency:
    """The key of this request (if any), reserved for it, and where its response is kept."""

    unit: Unit
    #: Who sent the request (authenticated and permitted).
    caller: Caller
    key: str | None = None

    def reply(self, content: Any, *, status: int = 200,
              headers: dict[str, str] | None = None) -> Response:
        """A JSON response, remembered under the request's key."""
        # A model is dumped by pydantic's own serializer: what `jsonable_encoder` would give
        # for it, without walking the result again in Python (a tenth of a request's time).
        body = (content.model_dump(mode="json", by_alias=True) if isinstance(content, BaseModel)
                else jsonable_encoder(content))
        response = JSONResponse(body, status_code=status, headers=headers or {})
        if self.key is not None:
            kept = {k: v for k, v in response.headers.items() if k.lower() in STORED_HEADERS}
            keys.fill(self.unit.session, actor=self.caller.actor, key=self.key,
                      status_code=status, response_headers=kept,
                      response_body=bytes(response.body).decode())
        return response


def _replay(record: keys.KeyRecord) -> Response:
    headers = {k: v for k, v in record.response_headers.items() if k != "content-type"}
    headers[REPLAYED] = "true"
    return Response(record.response_body, status_code=record.status_code, headers=headers,
                    media_type=record.response_headers.get("content-type", "application/json"))


def _check(record: keys.KeyRecord, method: str, path: str, fingerprint: str) -> None:
    if (record.method, record.path, record.body_hash) != (method, path, fingerprint):
        raise InvalidData(HEADER, "this key was already used for a different request")
    if record.status_code == 0:  # not filled: cannot be seen once committed, kept defensively
        raise ApiProblem(409, "idempotency-in-progress",
                         "a request with this key is still being processed; retry",
                         headers={"Retry-After": "1"})
    raise IdempotentReplay(_replay(record))


def on_replay(request: Request, exc: Exception) -> Response:
    """The exception handler that answers a repeated request with its stored response."""
    assert isinstance(exc, IdempotentReplay)
    return exc.response


#: The `Idempotency-Key` header as every POST documents it.
KeyHeader = Annotated[str | None, Header(
    alias=HEADER, min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
    description="Makes the POST safe to retry: the same key and body replay the first "
                "response; the same key with another body gets 422.")]


@functools.cache
def idempotent(action: Action) -> Callable[..., Awaitable[Idempotency]]:
    """The dependency of a POST that `action` permits: its caller (`api.auth.require`: 401,
    403 first) and its `Idempotency-Key`. The caller comes with it, not as a dependency of
    the route's own: each dependency a route names costs it a solve (see `require`)."""

    async def idempotency(request: Request, unit: UnitDep, caller: Caller,
                          key: KeyHeader = None) -> Idempotency:
        """Replay a repeated request, refuse a reused key, or reserve the key for this one.
        Without a key there is nothing to look up, so this runs on the event loop; with one,
        the database work goes to a worker thread."""
        if key is None:
            return Idempotency(unit, caller)
        body = await request.body()  # already read and size-checked by the body guard
        return await run_in_threadpool(
            _reserve, unit, caller, key, request.method, request.url.path,
            body_fingerprint(body))

    # Set here, not written in the signature: annotations are strings in this module, read
    # by FastAPI in the module's namespace, where `action` is not.
    idempotency.__annotations__["caller"] = Annotated[Caller, Depends(require(action))]
    idempotency.__name__ = idempotency.__qualname__ = f"idempotent_{action.value}"
    return idempotency


def _reserve(unit: Unit, caller: Caller, key: str, method: str, path: str,
             fingerprint: str) -> Idempotency:
    """Reserve the key in the request's transaction, or answer as the request that took it
    (a concurrent one is waited for by the database, `pathway.store.idempotency`)."""
    session = unit.session
    actor = caller.actor
    if keys.reserve(session, actor=actor, key=key, method=method, path=path,
                    body_hash=fingerprint, now=unit.now):
        return Idempotency(unit, caller, key)
    found = keys.key_record(session, actor=actor, key=key)
    if found is not None:
        _check(found, method, path, fingerprint)
    # Taken, yet gone when read: deleted after its retention in between. Retry as new.
    raise ApiProblem(409, "idempotency-in-progress",
                     "a request with this key is still being processed; retry",
                     headers={"Retry-After": "1"})
