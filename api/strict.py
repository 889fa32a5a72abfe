"""Unknown query parameters are refused (422 naming the parameter), not silently ignored.

A typo such as `?stat=assessed` would otherwise return every episode as if it had matched.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from pathway.errors import InvalidData


def _declared(dependant: Any) -> set[str]:
    names = {p.alias for p in getattr(dependant, "query_params", [])}
    for sub in getattr(dependant, "dependencies", []):
        names |= _declared(sub)
    return names


async def reject_unknown_query(request: Request) -> None:
    """A route dependency: every query parameter must be one the route declares (a coroutine:
    no blocking work, so it runs on the event loop, not in a worker thread)."""
    known = _declared(getattr(request.scope.get("route"), "dependant", None))
    for name in request.query_params:
        if name not in known:
            raise InvalidData(name or "query", "unknown query parameter")


#: `dependencies=` for the API's routers.
STRICT = [Depends(reject_unknown_query)]
