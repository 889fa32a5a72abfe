"""RFC 9457 problem details: the one place where errors become HTTP responses.

Domain errors (`pathway.errors`), request validation, unknown routes, wrong methods, the edge's
own refusals (`ApiProblem`) and an unreachable database all leave as
`application/problem+json` with `type`, `title`, `status`, `detail` and, where it helps the
caller, the field at fault or the events allowed now. Patient data never appears in a problem
(validation errors carry the message, never the input).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from api.headers import headers_for
from pathway.errors import (
    ActionRefused,
    Conflict,
    Duplicate,
    DuplicateEpisode,
    IdentityMismatch,
    InvalidData,
    NotFound,
    PathwayError,
    PreconditionFailed,
    TransitionRefused,
)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:pathway:problem:"
RETRY_AFTER_SECONDS = 5
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
log = logging.getLogger("pathway.api")


class FieldError(BaseModel):
    """One invalid input."""

    field: str
    detail: str


class Problem(BaseModel):
    """An RFC 9457 problem; extension members depend on the `type`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem", examples=[
        "urn:pathway:problem:transition-refused"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    field: str | None = Field(default=None, description="The first invalid field, if any")
    errors: list[FieldError] | None = None
    state: str | None = Field(default=None, description="The episode's state (refusals)")
    event: str | None = None
    allowed_events: list[str] | None = Field(
        default=None, description="Events the episode accepts now (refusals)")
    reason: str | None = None
    current_version: int | None = None
    expected_version: int | None = None


class ApiProblem(Exception):
    """A refusal by the edge itself (authentication, limits, headers)."""

    def __init__(self, status: int, slug: str, detail: str, *,
                 headers: Mapping[str, str] | None = None, **extensions: Any) -> None:
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions
        super().__init__(detail)


def problem_response(
    status: int, *, slug: str | None = None, detail: str | None = None,
    instance: str | None = None, headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json response; `slug` None means a plain HTTP problem (`about:blank`)."""
    body: dict[str, Any] = {
        "type": f"{TYPE_BASE}{slug}" if slug else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=dict(headers or {}),
                        media_type=PROBLEM_JSON)


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def domain_problem(exc: PathwayError, instance: str | None = None) -> JSONResponse:
    """The response for a domain error."""
    if isinstance(exc, NotFound):
        return problem_response(404, slug="not-found", detail=str(exc), instance=instance)
    if isinstance(exc, InvalidData):
        return problem_response(
            422, slug="invalid-data", detail=str(exc), instance=instance, field=exc.field,
            errors=[{"field": exc.field, "detail": exc.reason}])
    if isinstance(exc, TransitionRefused):
        return problem_response(
            409, slug="transition-refused", detail=str(exc), instance=instance,
            state=exc.state, event=exc.event, allowed_events=exc.allowed, reason=exc.reason)
    if isinstance(exc, ActionRefused):
        return problem_response(409, slug="action-refused", detail=str(exc), instance=instance,
                                state=exc.status, reason=exc.reason)
    if isinstance(exc, PreconditionFailed):
        return problem_response(
            412, slug="precondition-failed", detail=str(exc), instance=instance,
            headers={"ETag": f'"{exc.actual}"'}, current_version=exc.actual,
            expected_version=exc.expected)
    if isinstance(exc, Conflict):
        return problem_response(409, slug="conflict", detail=str(exc), instance=instance)
    if isinstance(exc, Duplicate):
        return problem_response(409, slug="duplicate", detail=str(exc), instance=instance)
    if isinstance(exc, IdentityMismatch):
        return problem_response(409, slug="identity-mismatch", detail=str(exc),
                                instance=instance, fields=[f"patient.{f}" for f in exc.fields])
    if isinstance(exc, DuplicateEpisode):
        return problem_response(409, slug="duplicate-episode", detail=str(exc),
                                instance=instance, existing_episode=exc.existing_id,
                                levels=exc.levels)
    return problem_response(422, slug="refused", detail=str(exc), instance=instance)


def _on_domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PathwayError)
    return domain_problem(exc, request.url.path)


def _on_edge(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc.status, slug=exc.slug, detail=exc.detail,
                            instance=request.url.path, headers=exc.headers, **exc.extensions)


def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": "body" if e.get("type") == "json_invalid"
               else _field_name(tuple(e.get("loc", ()))),
               "detail": str(e.get("msg", ""))} for e in exc.errors()]
    first = errors[0] if errors else {"field": "body", "detail": "invalid request"}
    return problem_response(
        422, slug="validation-error", detail=f"{first['field']}: {first['detail']}",
        instance=request.url.path, field=first["field"], errors=errors)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(exc.status_code, detail=detail, instance=request.url.path,
                            headers=headers)


def _on_database_down(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem_response(
        503, slug="database-unavailable", detail="the database is unavailable; retry shortly",
        instance=request.url.path, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _on_integrity(request: Request, exc: Exception) -> Response:
    # Only a race reaches here (two requests adding the same MRN at once, say): the use cases
    # check everything else first. Retrying finds the winner's row.
    log.info("integrity race on %s %s", request.method,
             getattr(request.scope.get("route"), "path", "unmatched"))
    return problem_response(409, slug="conflict", instance=request.url.path,
                            detail="a concurrent request changed the same data; retry")


def _on_unexpected(request: Request, exc: Exception) -> Response:
    # The type and the frames, not the message: a message may quote input (patient data).
    route = getattr(request.scope.get("route"), "path", "unmatched")
    # One message without arguments: the log filter escapes it whole (pathway.logs), where a
    # value passed as an argument is cut at its bound.
    log.error(f"unhandled {type(exc).__name__} on {request.method} {route}\n"
              + "".join(traceback.format_tb(exc.__traceback__)))
    # Rendered by Starlette's outermost error middleware, outside the header policy's layer:
    # the policy's headers are set here.
    runtime = getattr(request.app.state, "runtime", None)
    https = bool(runtime is not None and runtime.settings.secure_cookies)
    return problem_response(500, slug="internal-error", detail="an unexpected error occurred",
                            instance=request.url.path,
                            headers=headers_for(request.url.path, https=https))


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error of the app as problem+json."""
    app.add_exception_handler(PathwayError, _on_domain)
    app.add_exception_handler(ApiProblem, _on_edge)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(IntegrityError, _on_integrity)
    for error in (OperationalError, DisconnectionError, PoolTimeout):
        app.add_exception_handler(error, _on_database_down)
    app.add_exception_handler(Exception, _on_unexpected)
