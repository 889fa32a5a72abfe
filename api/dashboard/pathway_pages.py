"""The pathway page: the current version drawn from the state machine (Mermaid, rendered in
the browser from a locally served copy), with its windows, reminder rules and seeds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.dashboard.security import DIAGRAM_CSP
from api.dashboard.web import DashboardDep, DbDep, ViewerDep, render
from pathway.diagram import mermaid, transitions
from pathway.store.versions import current_version, list_versions, load_definition

router = APIRouter()


@router.get("/pathway")
def pathway_page(request: Request, board: DashboardDep, db: DbDep, viewer: ViewerDep,
                 version: int | None = None) -> Response:
    """The state machine as a diagram, and the rules of a pathway version."""
    versions = list_versions(db)
    known = {v.version for v in versions}
    chosen = version if version in known else current_version(db)
    definition = load_definition(db, chosen)
    return render(request, board, "pathway.html", {
        "diagram": mermaid(),
        "transitions": transitions(),
        "definition": definition,
        "versions": versions,
        "chosen": chosen,
    }, viewer=viewer, csp=DIAGRAM_CSP)
