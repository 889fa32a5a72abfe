"""The intake form: a dashboard user opens an episode (GET and POST /episodes/new).

The form posts strings; `intake_payload` only shapes them into the JSON that `POST /v1/episodes`
takes. What is valid is decided, as for the integration API, by `pathway.intake.IntakeAssessment`
(every broken field at once, each shown beside its input) and then by the use case
`pathway.episodes.open_episode` (dates in range, the patient's identity, the same fracture
twice). The one check of the form's own is that the coordinator is one it offered: an active
user whose role coordinates. Nothing is written unless the episode opens; on success the
browser goes to the new episode's page (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from api.dashboard.web import (
    Dashboard,
    DashboardDep,
    DbDep,
    FormDep,
    Viewer,
    audit_page,
    flash,
    permitted,
    redirect,
    render,
)
from pathway.episodes import open_episode
from pathway.errors import DuplicateEpisode, IdentityMismatch, InvalidData, PathwayError
from pathway.intake import IntakeAssessment
from pathway.permissions import Action
from pathway.store.db import transaction
from pathway.store.users import active_users_in_roles
from pathway.vocabulary import (
    LEVELS,
    Cause,
    ImagingFinding,
    Modality,
    NeuroFinding,
    RedFlag,
    Role,
)

router = APIRouter()
OpenerDep = Annotated[Viewer, Depends(permitted(Action.OPEN_EPISODE))]

#: The roles whose active users may be named an episode's coordinator.
COORDINATOR_ROLES = (Role.COORDINATOR.value, Role.ADMIN.value)

#: Each input of the form, by its name, as people call it (the errors name fields so).
LABELS: dict[str, str] = {
    "mrn": "MRN", "name": "Name", "birth_date": "Birth date",
    "identified_on": "Identified on (day 0)", "injury_on": "Injury on", "levels": "Levels",
    "cause": "Cause", "neuro_status": "Neurological exam",
    "neuro_findings": "Neurological findings", "red_flags": "Red flags",
    "instability": "Instability", "cord_compression": "Cord compression",
    "progressive_deformity": "Progressive deformity", "pain_score": "Pain score",
    "imaging_modality": "Imaging modality", "imaging_on": "Imaging performed on",
    "imaging_finding": "Imaging finding", "coordinator": "Coordinator",
}
#: Inputs that post several values (checkboxes).
MANY = frozenset({"levels", "neuro_findings", "red_flags"})
FLAGS = ("instability", "cord_compression", "progressive_deformity")
#: Where a nested field of the model is entered on the form.
NESTED: dict[tuple[str, ...], str] = {
    ("patient", "mrn"): "mrn", ("patient", "name"): "name",
    ("patient", "birth_date"): "birth_date",
    ("initial_imaging", "modality"): "imaging_modality",
    ("initial_imaging", "performed_on"): "imaging_on",
    ("initial_imaging", "finding"): "imaging_finding",
}
FINDINGS = "findings"  # the neurological exam's third answer: the ticked findings

Entered = dict[str, Any]  # input name -> the text (or, for MANY, the values) posted
Errors = dict[str, str]  # input name ("" for the form as a whole) -> what is wrong


def entered_values(form: FormData) -> Entered:
    """What the user typed and ticked, trimmed, to validate and to show again."""
    return {name: [str(v) for v in form.getlist(name)] if name in MANY
            else str(form.get(name) or "").strip() for name in LABELS}


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """Leave out what was left empty, so that the model says what is required."""
    return {key: value for key, value in values.items() if value not in ("", None)}


def _neuro_exam(entered: Entered, errors: Errors) -> str | list[str] | None:
    status, ticked = entered["neuro_status"], entered["neuro_findings"]
    if status == FINDINGS:
        return list(ticked)
    if ticked:
        errors["neuro_findings"] = f"tick findings only with “{FINDINGS}” chosen"
    return status or None


def _pain_score(raw: str, errors: Errors) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        errors["pain_score"] = "must be a whole number"
        return None


def intake_payload(entered: Entered, errors: Errors) -> dict[str, Any]:
    """The intake assessment as the API's JSON; problems of shape go to `errors`."""
    imaging = _present({"modality": entered["imaging_modality"],
                        "performed_on": entered["imaging_on"],
                        "finding": entered["imaging_finding"]})
    return _present({
        "patient": _present({key: entered[key] for key in ("mrn", "name", "birth_date")}),
        "levels": list(entered["levels"]),
        "identified_on": entered["identified_on"],
        "injury_on": entered["injury_on"],
        "cause": entered["cause"],
        "neuro_exam": _neuro_exam(entered, errors),
        "red_flags": list(entered["red_flags"]),
        **{flag: entered[flag] == "yes" for flag in FLAGS},
        "pain_score": _pain_score(entered["pain_score"], errors),
        "initial_imaging": imaging or None,
        "coordinator": entered["coordinator"],
    })


def input_of(loc: Sequence[int | str], payload: dict[str, Any]) -> str | None:
    """The input where a model error's field is entered; None for an error of the union
    branch (text or list of findings) that the form did not send."""
    path = tuple(str(part) for part in loc)
    if path[:1] == ("neuro_exam",):
        branch = path[1] if len(path) > 1 else ""
        sent_list = isinstance(payload.get("neuro_exam"), list)
        if branch.startswith("list"):
            return "neuro_findings" if sent_list else None
        return None if branch and sent_list else "neuro_status"
    if path[:2] in NESTED:
        return NESTED[path[:2]]
    return path[0] if path and path[0] in LABELS else ""


def human(error: ErrorDetails) -> str:
    """Pydantic's message in words for the form (the rule itself stays in the model)."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "too_short":
        return f"choose at least {ctx.get('min_length', 1)}"
    if kind == "string_pattern_mismatch":
        return "may hold only letters, digits and . _ / -"
    if kind in ("date_parsing", "date_from_datetime_parsing"):
        return f"must be a real date as YYYY-MM-DD ({ctx.get('error', 'not a date')})"
    text = str(error["msg"]).removeprefix("Value error, ")
    return text[:1].lower() + text[1:]


def validated(payload: dict[str, Any], errors: Errors) -> IntakeAssessment | None:
    """The intake if the model takes it and the form found nothing wrong; else None, with
    each broken field's first error added to `errors`."""
    try:
        intake = IntakeAssessment.model_validate(payload)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = input_of(error["loc"], payload)
            if where is not None:
                errors.setdefault(where, human(error))
        return None
    return None if errors else intake


def coordinator_choices(db: Session) -> list[tuple[str, str]]:
    """(user name, name shown) of the active users who may coordinate an episode."""
    return [(u.username, u.display_name or u.username)
            for u in active_users_in_roles(db, COORDINATOR_ROLES)]


def _check_coordinator(entered: Entered, choices: list[tuple[str, str]],
                       errors: Errors) -> None:
    picked = entered["coordinator"]
    if picked and picked not in {username for username, _ in choices}:
        errors["coordinator"] = "is not an active coordinator: choose one from the list"


def _form_page(request: Request, board: Dashboard, viewer: Viewer, *, entered: Entered,
               choices: list[tuple[str, str]], errors: Errors | None = None,
               problem: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    context = {
        "entered": entered, "errors": errors or {}, "problem": problem, "labels": LABELS,
        "coordinators": choices, "levels": LEVELS, "causes": [c.value for c in Cause],
        "neuro_findings": [f.value for f in NeuroFinding],
        "red_flags": [f.value for f in RedFlag], "flags": FLAGS,
        "modalities": [m.value for m in Modality],
        "imaging_findings": [f.value for f in ImagingFinding],
    }
    return render(request, board, "intake.html", context, viewer=viewer,
                  status_code=status_code)


def blank(board: Dashboard, viewer: Viewer, choices: list[tuple[str, str]]) -> Entered:
    """The empty form: day 0 is today (site zone), the user coordinates if they may."""
    entered: Entered = {name: [] if name in MANY else "" for name in LABELS}
    mine = viewer.username in {username for username, _ in choices}
    return {**entered, "identified_on": board.today().isoformat(),
            "cause": Cause.UNKNOWN.value, "coordinator": viewer.username if mine else ""}


@router.get("/episodes/new")
def intake_page(request: Request, board: DashboardDep, db: DbDep, viewer: OpenerDep) -> Response:
    """The blank intake form (it shows no patient's data: nothing to audit)."""
    choices = coordinator_choices(db)
    return _form_page(request, board, viewer, entered=blank(board, viewer, choices),
                      choices=choices)


def _refused(request: Request, board: Dashboard, viewer: Viewer,
             exc: PathwayError) -> tuple[int, Errors, dict[str, Any]]:
    """How a refusal of the use case is shown: status, field errors, the box at the top."""
    if isinstance(exc, InvalidData):
        where = input_of(exc.field.split("."), {})
        return 422, {where or "": exc.reason}, {}
    if isinstance(exc, IdentityMismatch):
        differ = {field: f"differs from what is stored for MRN {exc.mrn}"
                  for field in exc.fields if field in LABELS}
        words = " and ".join(LABELS[field].lower() for field in differ)
        return 409, differ, {"kind": "identity", "mrn": exc.mrn, "differ": words}
    if isinstance(exc, DuplicateEpisode):
        # The page names an existing episode of this patient: that is a read of their data.
        audit_page(request, board, viewer, "episode", episode_id=exc.existing_id,
                   detail={"via": "intake_duplicate"})
        return 409, {}, {"kind": "duplicate", "episode_id": exc.existing_id,
                         "levels": exc.levels}
    return 400, {}, {"kind": "other", "message": str(exc)}


@router.post("/episodes/new")
def open_from_form(request: Request, board: DashboardDep, db: DbDep, viewer: OpenerDep,
                   form: FormDep) -> Response:
    """Open the episode, or show the form again with what to correct (nothing written)."""
    entered = entered_values(form)
    errors: Errors = {}
    choices = coordinator_choices(db)
    _check_coordinator(entered, choices, errors)
    payload = intake_payload(entered, errors)
    intake = validated(payload, errors)
    if intake is None:
        return _form_page(request, board, viewer, entered=entered, choices=choices,
                          errors=errors, status_code=422)
    try:
        with transaction(board.runtime.sessions) as session:
            episode = open_episode(session, intake=intake, actor=viewer.actor, now=board.now(),
                                   zone=board.runtime.settings.zone)
    except PathwayError as exc:
        status, errors, problem = _refused(request, board, viewer, exc)
        return _form_page(request, board, viewer, entered=entered, choices=choices,
                          errors=errors, problem=problem, status_code=status)
    flash(request, f"Episode opened for {intake.patient.mrn}.")
    return redirect(f"/episodes/{episode.id}")
