"""Unknown query parameters are refused (422 naming the parameter), not silently ignored.

A typo such as `?stat=assessed` would otherwise return every episode as if it had matched.

The check is made by the route itself (`StrictRoute`, the API routers' `route_class`) before
its dependencies are solved, against the names the route declares, collected once when the
route is built: as a router dependency it cost every request a dependency solve and a walk of
the route's dependency tree (BENCHMARKS.md, workload 3).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from api.units import in_one_transaction, roll_back_unended
from pathway.errors import InvalidData


def _declared(dependant: Any) -> set[str]:
    names = {p.alias for p in getattr(dependant, "query_params", [])}
    for sub in getattr(dependant, "dependencies", []):
        names |= _declared(sub)
    return names


def reject_unknown_query(request: Request, known: frozenset[str]) -> None:
    """Every query parameter must be one of `known`; else InvalidData naming it."""
    for name in request.query_params:
        if name not in known:
            raise InvalidData(name or "query", "unknown query parameter")


class StrictRoute(APIRoute):
    """An API route: it refuses query parameters it does not declare, and it ends its
    request's unit of work (`api.units`): the endpoint's run commits or rolls back, and a
    request refused before the endpoint ran is rolled back once the route has answered."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_one_transaction(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known = frozenset(_declared(self.dependant))

        async def strict(request: Request) -> Response:
            try:
                reject_unknown_query(request, known)
                return await handler(request)
            finally:
                await roll_back_unended(request)

        return strict
