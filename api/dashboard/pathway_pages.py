"""The pathway page: a pathway version drawn for people (the fracture-care track from the
state machine, the bone-health track from the version's milestones; Mermaid, rendered in the
browser from a locally served copy), the table of every transition, and the version's windows,
reminder rules and seeds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.dashboard.security import DIAGRAM_CSP
from api.dashboard.web import DashboardDep, DbDep, ViewerDep, render
from pathway.diagram import (
    BONE_TITLE,
    CARE_TITLE,
    bone_health_track,
    care_track,
    transition_rows,
)
from pathway.store.versions import current_version, list_versions, load_definition

router = APIRouter()


@router.get("/pathway")
def pathway_page(request: Request, board: DashboardDep, db: DbDep, viewer: ViewerDep,
                 version: int | None = None) -> Response:
    """The two tracks as diagrams, and the rules of a pathway version."""
    versions = list_versions(db)
    known = {v.version for v in versions}
    chosen = version if version in known else current_version(db)
    definition = load_definition(db, chosen)
    return render(request, board, "pathway.html", {
        "care_title": CARE_TITLE,
        "care_diagram": care_track(definition),
        "bone_title": BONE_TITLE,
        "bone_diagram": bone_health_track(definition),
        "transitions": transition_rows(),
        "definition": definition,
        "versions": versions,
        "chosen": chosen,
    }, viewer=viewer, csp=DIAGRAM_CSP)
