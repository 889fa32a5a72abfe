"""HTML forms for events and facts, derived from their data models in `pathway.event_data`.

The form fields come from the same pydantic models that validate the integration API's
event data, so a new field or a new choice appears on the dashboard without a template edit.
Parsing only turns strings into JSON-like values; validation stays in the use case.
"""

from __future__ import annotations

import datetime as dt
import types
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from pathway.errors import InvalidData
from pathway.event_data import DATA_SCHEMAS, ISO_DATE
from pathway.vocabulary import TransitionEvent

FIELD_PREFIX = "data."


@dataclass(frozen=True)
class FormField:
    """One input: its name, the widget it needs and its choices."""

    name: str
    widget: str  # select | checkboxes | number | decimal | date | text | textarea | yesno
    required: bool
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.name


@dataclass(frozen=True)
class EventForm:
    """The form of one event or fact."""

    event: str
    fields: tuple[FormField, ...]

    @property
    def moves_track(self) -> bool:
        """Whether this is a transition of the fracture-care track (not a fact)."""
        return self.event in {e.value for e in TransitionEvent}


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The inner type of an annotation and whether None is allowed."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            annotation = args[0]
        else:
            return annotation, optional


def _bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    """The field's `ge` and `le`, also from an `Annotated` inside an optional type."""
    metadata = list(info.metadata)
    annotation = info.annotation
    for arg in get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else ():
        if get_origin(arg) is Annotated:
            metadata += [m for a in get_args(arg)[1:] for m in getattr(a, "metadata", [a])]
    low = high = None
    for meta in metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return low, high


def _field(name: str, info: FieldInfo) -> FormField:
    inner, optional = _unwrap(info.annotation)
    required = info.is_required() and not optional
    if get_origin(inner) is list:
        (item,) = get_args(inner)
        item, _ = _unwrap(item)
        return FormField(name, "checkboxes", required, tuple(m.value for m in item))
    if isinstance(inner, type) and issubclass(inner, Enum):
        return FormField(name, "select", required, tuple(m.value for m in inner))
    if inner is bool:
        return FormField(name, "yesno", required)
    if inner in (int, float):
        low, high = _bounds(info)
        return FormField(name, "number" if inner is int else "decimal", required,
                         minimum=low, maximum=high)
    if inner is dt.date:
        return FormField(name, "date", required)
    widget = "textarea" if name in {"note", "text"} else "text"
    return FormField(name, widget, required)


def event_form(event: str) -> EventForm:
    """The form for one event or fact; the note comes last."""
    schema = DATA_SCHEMAS[event]
    fields = [_field(name, info) for name, info in schema.model_fields.items() if name != "note"]
    fields.append(_field("note", schema.model_fields["note"]))
    return EventForm(event, tuple(fields))


def _parse_value(spec: FormField, form: FormData) -> Any:
    if spec.widget == "checkboxes":
        picked = [str(v) for v in form.getlist(spec.input_name) if str(v)]
        return picked or None
    raw = str(form.get(spec.input_name, "")).strip()
    if not raw:
        return None
    if spec.widget == "number":
        try:
            return int(raw)
        except ValueError as exc:
            raise InvalidData(f"data.{spec.name}", "must be a whole number") from exc
    if spec.widget == "decimal":
        try:
            return float(raw)
        except ValueError as exc:
            raise InvalidData(f"data.{spec.name}", "must be a number") from exc
    if spec.widget == "yesno":
        if raw not in {"yes", "no"}:
            raise InvalidData(f"data.{spec.name}", "must be yes or no")
        return raw == "yes"
    return raw  # dates and choices are validated by the event's model


def parse_event_data(event: str, form: FormData) -> dict[str, Any]:
    """The event's data from a posted form; empty inputs are left out."""
    if event not in DATA_SCHEMAS:
        raise InvalidData("event", f"unknown event {event!r}")
    data: dict[str, Any] = {}
    for spec in event_form(event).fields:
        value = _parse_value(spec, form)
        if value is not None:
            data[spec.name] = value
    return data


def parse_date(field: str, raw: object, *, required: bool = True) -> dt.date | None:
    """A date from an `<input type=date>` value, or InvalidData naming the field."""
    text = str(raw or "").strip()
    if not text:
        if required:
            raise InvalidData(field, "is required")
        return None
    try:
        if not ISO_DATE.fullmatch(text):  # fromisoformat also reads 20260101 and 2026-W01-1
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidData(field, "must be a date (YYYY-MM-DD)") from exc
