"""Writing the API's reads of patient data to the access log (`pathway.audit`).

A GET's transaction only reads (on SQLite it never takes the write lock), so its reads are
written in a short transaction of their own, after the data was read and before the response
is sent: if the write fails, the read fails (data is not shown unaudited)."""

from __future__ import annotations

from fastapi import Request

from api.auth import Caller
from api.units import Unit
from pathway.audit import Read, record
from pathway.store.db import transaction


def client_of(request: Request) -> str | None:
    """The client's address as the server saw it."""
    return request.client.host if request.client else None


def audit(unit: Unit, request: Request, caller: Caller, what: str, *,
          patient_id: int | None = None, episode_id: int | None = None,
          detail: dict[str, object] | None = None) -> None:
    """Write one read by `caller` down."""
    read = Read(actor=caller.actor, what=what, client_address=client_of(request),
                patient_id=patient_id, episode_id=episode_id, detail=detail)
    if unit.read_only:
        with transaction(unit.runtime.sessions) as writer:
            record(writer, [read], at=unit.now)
    else:
        record(unit.session, [read], at=unit.now)
