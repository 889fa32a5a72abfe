"""The OpenAPI document: every error response is documented as `application/problem+json`.

Routes name the problems particular to them with `problems(...)`; the ones every authenticated
route can return (401, 403, 422, 500, 503; 413 when there is a body) are added here, and
FastAPI's default validation-error schema is replaced by the problem schema.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.auth import SECURITY_SCHEME
from api.problems import PROBLEM_JSON, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PUBLIC_PATHS = frozenset({"/healthz"})
DESCRIPTIONS = {
    400: "The body could not be parsed",
    401: "No API key, or an unknown or revoked one",
    403: "The key's role may not do this",
    404: "No such resource",
    409: "Refused in the resource's current state (the problem names the state and what "
         "is allowed), or a concurrent change won",
    412: "If-Match does not match the episode's version",
    413: "The body is larger than the configured limit",
    422: "Invalid input; the problem names the field",
    500: "An unexpected error",
    503: "The database is unavailable; retry after the Retry-After seconds",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the problems particular to it."""
    return {code: {"description": DESCRIPTIONS.get(code, HTTPStatus(code).phrase)}
            for code in codes}


def _document_problems(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes = {500}
    if path not in PUBLIC_PATHS:
        codes |= {401, 403, 422, 503}
    if "requestBody" in operation:
        codes |= {400, 413}
    for code in codes:
        responses.setdefault(str(code), {"description": DESCRIPTIONS[code]})
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400:
            response["description"] = DESCRIPTIONS.get(int(status), response.get("description"))
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    if path not in PUBLIC_PATHS:
        operation["security"] = [{"HTTPBearer": []}]


def install_openapi(app: FastAPI) -> None:
    """Replace the app's schema generator with one that documents problems everywhere."""

    def schema() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
        components = document.setdefault("components", {})
        components.setdefault("securitySchemes", {}).update(SECURITY_SCHEME)
        schemas = components.setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schemas["Problem"].pop("$defs", {}))
        for path, item in document.get("paths", {}).items():
            for operation in item.values():
                _document_problems(path, operation)
        app.openapi_schema = document
        return document

    app.openapi = schema  # type: ignore[method-assign]
