"""The pathway drawn as Mermaid text: the fracture-care track from the state machine class
itself, the bone-health track from a pathway definition's milestones.

Owns three drawings and the rows behind them:

- `mermaid()`, the machine-readable state diagram the integration API returns
  (`GET /v1/pathway`): code names, guards by name, every transition one arrow.
- `care_track(definition)`, the fracture-care track for people (the /pathway page): human
  names from `pathway.labels`, conditions in words, and each waiting state's milestone window
  from the definition. To keep it legible, transitions that leave every state of a box
  (`BOXES`) for the same target under the same condition are drawn as one arrow from the box
  (closing from anywhere, a surgical referral from any state in care); `care_arrows` keeps
  the folding checkable against the machine. The guard that every transition but the surgical
  referral and closing carries (no deficit, instability or cord compression) and the guards
  that only require a reason are left off the arrows and said in words beside the drawing.
- `bone_health_track(definition)`, the milestones that go on after the pain episode ends,
  in order of their deadline (day offsets from day 0), then those an event starts.

Everything is generated, so the picture can never drift from the code that decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from statemachine import State

from pathway.definition import Anchor, MilestoneRule, PathwayDefinition
from pathway.labels import condition, in_sentence, label, trigger
from pathway.rules.machine import FractureCareMachine
from pathway.vocabulary import OPENED_EVENT, TRACK_FINAL_STATES, CareState, MilestoneKind

#: On every transition but the surgical referral and closing: not drawn.
_EVERYWHERE = "not_surgical_only"
#: Guards that only require the event's reason: said in the table, not on the arrows.
_REASON_ONLY = frozenset({"early_augmentation_reason", "surgery_reason_given"})

CARE_TITLE = "Fracture-care track"
BONE_TITLE = "Bone-health track"


# --- The machine-readable diagram of the integration API (unchanged vocabulary) ---------------

def _guards(transition: object) -> str:
    conds = [str(c) for c in getattr(transition, "cond", []) if str(c) != _EVERYWHERE]
    words = [f"unless {c[1:]}" if c.startswith("!") else f"if {c}" for c in conds]
    return f" ({', '.join(words)})" if words else ""


def transitions() -> list[tuple[str, str, str, str]]:
    """Every (source, target, event, guard text) of the machine, in declaration order."""
    rows: list[tuple[str, str, str, str]] = []
    states: list[State] = list(FractureCareMachine.states)
    for state in states:
        for transition in state.transitions:
            for event in str(transition.event).split():
                rows.append((state.id, transition.target.id, event, _guards(transition)))
    return rows


@cache
def mermaid() -> str:
    """A Mermaid `stateDiagram-v2` of the fracture-care track in code names (for the API)."""
    lines = ["stateDiagram-v2"]
    states: list[State] = list(FractureCareMachine.states)
    initial = next(s for s in states if s.initial)
    lines.append(f"    [*] --> {initial.id}")
    for source, target, event, guard in transitions():
        lines.append(f"    {source} --> {target} : {event}{guard}")
    for state in states:
        if state.final:
            lines.append(f"    {state.id} --> [*]")
    ends = [s.id for s in states if s.value in TRACK_FINAL_STATES]
    lines.append("    classDef trackFinal font-weight:bold,stroke-width:3px")
    lines.append(f"    class {','.join(ends)} trackFinal")
    return "\n".join(lines) + "\n"


# --- The transitions for people ----------------------------------------------------------------

@dataclass(frozen=True)
class Transition:
    """One transition of the machine: code names, and its guards (`!name` for `unless`)."""

    source: str
    target: str
    event: str
    guards: tuple[str, ...]

    @property
    def conditions(self) -> tuple[str, ...]:
        """Its guards in words, without the one nearly every transition carries."""
        return tuple(condition(g) for g in self.guards if g != _EVERYWHERE)

    @property
    def branch(self) -> tuple[str, ...]:
        """The conditions that choose where the event leads (drawn on the arrow)."""
        return tuple(condition(g) for g in self.guards
                     if g != _EVERYWHERE and g.lstrip("!") not in _REASON_ONLY)


@cache
def machine_transitions() -> tuple[Transition, ...]:
    """Every transition of the machine, in declaration order."""
    rows: list[Transition] = []
    for state in FractureCareMachine.states:
        for transition in state.transitions:
            guards = tuple(str(c) for c in transition.cond)
            for event in str(transition.event).split():
                rows.append(Transition(state.id, transition.target.id, event, guards))
    return tuple(rows)


@dataclass(frozen=True)
class Row:
    """A transition as the page's table shows it."""

    source: str
    event: str
    target: str
    condition: str


def transition_rows() -> list[Row]:
    """The table of transitions, in human names: the drawing's accessible equivalent."""
    return [Row(label(t.source), label(t.event), label(t.target),
                "; ".join(f"if {c}" for c in t.conditions) or "always")
            for t in machine_transitions()]


# --- The fracture-care track -----------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    """States the drawing treats together: an arrow from a box leaves each state in it. A box
    is a node of its own that names its states ("Any state in care"); `below` places it under
    that state. (Mermaid's layout mangles arrows that leave the border of a frame.)"""

    id: str
    title: str
    states: frozenset[str]
    below: str | None = None


def _any_time(states: Iterable[str]) -> str:
    names = [in_sentence(s.value) for s in CareState if s.value in set(states)]
    return f"Any time in {', '.join(names[:-1])} or {names[-1]}"


_IN_CARE = frozenset(s.value for s in CareState if s not in TRACK_FINAL_STATES)
_CONSERVATIVE = frozenset({CareState.CONSERVATIVE_CARE.value, CareState.REASSESSED.value,
                           CareState.IMAGED.value})
_ENDS = frozenset(s.value for s in TRACK_FINAL_STATES if s != CareState.CLOSED)

#: The boxes that arrows may leave from.
BOXES: tuple[Box, ...] = (
    Box("any_state", "Any state", _IN_CARE | _ENDS),
    Box("any_in_care", "Any state before the track ends", _IN_CARE),
    Box("conservative", _any_time(_CONSERVATIVE), _CONSERVATIVE,
        below=CareState.IMAGED.value),
)
#: Layout only: (upper, lower) draws `upper` above `lower` although arrows from below lead to
#: it (the work-up sits next to the assessment it returns to, not under the whole track).
_ABOVE = ((CareState.PATHOLOGIC_WORKUP.value, CareState.CONSERVATIVE_CARE.value),)


@dataclass(frozen=True)
class Arrow:
    """One arrow of the drawing: from a state or a box (`Box.id`) to a state."""

    source: str
    target: str
    event: str
    branch: tuple[str, ...]


def _fold(sources: set[str]) -> list[str]:
    """Sources as boxes where a whole box leaves, largest box first; the rest one by one."""
    left = set(sources)
    drawn: list[str] = []
    for box in sorted(BOXES, key=lambda b: -len(b.states)):
        if box.states <= left:
            drawn.append(box.id)
            left -= box.states
    return drawn + [s.value for s in CareState if s.value in left]


@cache
def care_arrows() -> tuple[Arrow, ...]:
    """The arrows of the drawing: the machine's transitions, those that leave a whole box for
    the same target under the same condition folded into one arrow from the box."""
    grouped: dict[tuple[str, str, tuple[str, ...]], set[str]] = {}
    for t in machine_transitions():
        grouped.setdefault((t.event, t.target, t.branch), set()).add(t.source)
    arrows: list[Arrow] = []
    for (event, target, branch), sources in grouped.items():
        arrows.extend(Arrow(source, target, event, branch) for source in _fold(sources))
    return tuple(arrows)


def box_states(source: str) -> frozenset[str]:
    """The states an arrow's source stands for (a box's states, or the state itself)."""
    for box in BOXES:
        if box.id == source:
            return box.states
    return frozenset({source})


def _md(*lines: str, bold: bool = False) -> str:
    """A quoted Mermaid markdown label, one line per argument, the first in bold if `bold`
    (this Mermaid strips HTML from labels under its strict security level)."""
    clean = [line.replace('"', "”").replace("`", "'").replace("*", "×") for line in lines]
    if bold and clean:
        clean[0] = f"**{clean[0]}**"
    return '"`' + "\n".join(clean) + '`"'


#: Keeps a range such as `day 90–104` on one line (no break space, word joiners).
_NB, _DASH = "\u00a0", "\u2060–\u2060"


def _days(rule: MilestoneRule) -> str:
    """A milestone's window in words: `day 28–42`, `by day 14`, `182–210 days later`."""
    if rule.anchor == Anchor.DAY0:
        return f"day{_NB}{rule.due_days}{_DASH}{rule.overdue_days}" if rule.due_days else \
            f"by day{_NB}{rule.overdue_days}"
    if rule.due_days == rule.overdue_days:
        return f"{rule.overdue_days}{_NB}days later"
    return f"{rule.due_days}{_DASH}{rule.overdue_days}{_NB}days later"


def _waits(definition: PathwayDefinition) -> dict[str, str]:
    """Per state, the milestone it waits for and its window (`Reassessment: day 28–42`)."""
    waits: dict[str, str] = {}
    for kind, rule in definition.milestones.items():
        if rule.watches is None:
            continue
        # A window counted from the event that entered the state reads "within N days".
        window = (f"within {rule.overdue_days} days" if rule.anchor == Anchor.EVENT
                  else _days(rule))
        waits[rule.watches.value] = f"{label(kind)} {window}"
    return waits


def _arrow_words(arrow: Arrow, definition: PathwayDefinition) -> list[str]:
    """An arrow's label, one line per part: its event, its condition; an arrow back to its
    own state (drawn in the state's box) says when the watched milestone falls due again."""
    words = [label(arrow.event)]
    if arrow.branch:
        words.append("if " + " and ".join(arrow.branch))
    if arrow.source == arrow.target:
        rearm = next((r.rearm_days for r in definition.milestones.values()
                      if r.watches is not None and r.watches.value == arrow.target
                      and r.rearm_days), None)
        when = words[1][:1].upper() + words[1][1:] if len(words) > 1 else label(arrow.event)
        words = [f"{when}: again {rearm} days later" if rearm else f"{when}: stays here"]
    return words


def _arrow_text(arrow: Arrow, definition: PathwayDefinition) -> str:
    return _md(*_arrow_words(arrow, definition))


def _state_node(state: str, waits: dict[str, str], notes: Sequence[list[str]] = ()) -> str:
    lines = [label(state), *([waits[state]] if state in waits else [])]
    for note in notes:
        lines.extend(note)
    text = _md(*lines, bold=True)
    return f"{state}([{text}])" if state in TRACK_FINAL_STATES else f"{state}[{text}]"


def care_track(definition: PathwayDefinition) -> str:
    """A Mermaid flowchart of the fracture-care track for people."""
    waits = _waits(definition)
    lines = ["---", f"title: {CARE_TITLE}", "---", "flowchart TB"]
    initial = next(s for s in FractureCareMachine.states if s.initial).id
    lines.append(f"  start([{_md('Intake assessment')}]) --> {initial}")
    arrows = [a for a in care_arrows() if a.source != a.target]
    loops = [a for a in care_arrows() if a.source == a.target]
    for state in CareState:
        notes = [_arrow_words(a, definition) for a in loops if a.source == state.value]
        lines.append(f"  {_state_node(state.value, waits, notes)}")
    for box in BOXES:
        if any(a.source == box.id for a in arrows):
            lines.append(f"  {box.id}([{_md(box.title)}])")
            if box.below:
                lines.append(f"  {box.below} ~~~ {box.id}")
    # Mermaid's layout breaks cycles in the order arrows come: the arrow from the initial
    # state to an upper state first, then the hint, then the rest.
    first = [a for a in arrows if a.source == initial and a.target in {u for u, _ in _ABOVE}]
    for arrow in first + [a for a in arrows if a not in first]:
        style = "-.->" if arrow.event == "close" else "-->"
        lines.append(f"  {arrow.source} {style}|{_arrow_text(arrow, definition)}| "
                     f"{arrow.target}")
        if arrow in first:
            lines += [f"  {upper} ~~~ {lower}" for upper, lower in _ABOVE
                      if upper == arrow.target]
    lines.extend(_classes())
    return "\n".join(lines) + "\n"


def _classes() -> list[str]:
    def ids(states: Iterable[str]) -> str:
        return ",".join(states)

    amber = [CareState.PATHOLOGIC_WORKUP.value, CareState.ONCOLOGY_REFERRAL.value,
             CareState.SURGICAL_REFERRAL.value]
    quiet = [CareState.RESOLVED.value, CareState.CLOSED.value]
    return [
        "  classDef care fill:#e8f0fa,stroke:#1f5f8b,color:#1b1b1b",
        "  classDef warn fill:#fff4d6,stroke:#8a5a00,color:#1b1b1b",
        "  classDef good fill:#e6f4ea,stroke:#246b43,color:#1b1b1b",
        "  classDef done fill:#e6e6e6,stroke:#555,color:#1b1b1b",
        "  classDef entry fill:#fff,stroke:#1b1b1b,color:#1b1b1b",
        f"  class {ids(s.value for s in CareState if s.value not in {*amber, *quiet})} care",
        f"  class {ids(amber)} warn",
        f"  class {CareState.RESOLVED.value} good",
        f"  class {CareState.CLOSED.value} done",
        "  classDef group fill:#fff,stroke:#1b1b1b,color:#1b1b1b,stroke-dasharray:5 4",
        "  class start entry",
        f"  class {ids(b.id for b in BOXES)} group",
    ]


# --- The bone-health track -------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """A bone-health milestone as the drawing lists it."""

    kind: MilestoneKind
    rule: MilestoneRule

    @property
    def from_day0(self) -> bool:
        return self.rule.anchor == Anchor.DAY0

    @property
    def text(self) -> str:
        """`FLS assessment`, `Liaison monitoring contact, from day 84`, `… once therapy
        started`; event-started ones: `Next denosumab dose: 182–210 days after`."""
        words = label(self.kind)
        if not self.from_day0:
            return f"{words}: {_days(self.rule)}"
        if self.rule.due_days:
            words += f", from day {self.rule.due_days}"
        opened = [t for t in self.rule.opened_by if t != OPENED_EVENT]
        if opened:
            words += ", once " + " or ".join(in_sentence(trigger(t)) for t in opened)
        return words


def bone_health_steps(definition: PathwayDefinition) -> list[Step]:
    """The milestones that do not watch a fracture-care state, by deadline: those counted from
    day 0 first (by overdue day, then due day), then those an event starts."""
    steps = [Step(kind, rule) for kind, rule in definition.milestones.items()
             if rule.watches is None]
    return sorted(steps, key=lambda s: (not s.from_day0, s.rule.overdue_days, s.rule.due_days))


def _deadlines(steps: Sequence[Step]) -> list[tuple[int, list[Step]]]:
    by_day: dict[int, list[Step]] = {}
    for step in steps:
        by_day.setdefault(step.rule.overdue_days, []).append(step)
    return sorted(by_day.items())


def bone_health_track(definition: PathwayDefinition) -> str:
    """A Mermaid flowchart of the bone-health track: from day 0, its milestones grouped by
    deadline in order; beside them, the milestones an event starts and that event."""
    steps = bone_health_steps(definition)
    days = _deadlines([s for s in steps if s.from_day0])
    started = [s for s in steps if not s.from_day0]
    lines = ["---", f"title: {BONE_TITLE}", "---", "flowchart TB"]
    # Declared first, Mermaid's layout puts this column on the right of the days.
    if started:
        lines += [f"  subgraph after[{_md('Started by an event')}]", "    direction TB"]
        for n, step in enumerate(started):
            cause = " or ".join(trigger(t) for t in step.rule.opened_by)
            cause = cause[:1].upper() + cause[1:]
            text = _md(label(step.kind), _days(step.rule), bold=True)
            lines.append(f"    cause{n}([{_md(cause)}]) --> step{n}[{text}]")
            if n:
                lines.append(f"    step{n - 1} ~~~ cause{n}")  # one column, not a row
        lines.append("  end")
    lines += [f"  subgraph bone[{_md('From day 0 until the episode is closed')}]",
              "    direction TB", f"    day0([{_md('Day 0: fracture identified')}])"]
    previous = "day0"
    for day, group in days:
        lines.append(f"    by{day}[{_md(f'By day {day}', *(s.text for s in group), bold=True)}]")
        lines.append(f"    {previous} --> by{day}")
        previous = f"by{day}"
    lines.append("  end")
    if started:
        lines.append("  day0 ~~~ cause0")  # the column starts at the top, beside the days
    nodes = [f"by{day}" for day, _ in days] + [f"step{n}" for n in range(len(started))]
    lines += ["  classDef bone fill:#e6f4ea,stroke:#246b43,color:#1b1b1b",
              "  classDef entry fill:#fff,stroke:#1b1b1b,color:#1b1b1b",
              f"  class {','.join(['day0', *(f'cause{n}' for n in range(len(started)))])} entry"]
    if nodes:
        lines.append(f"  class {','.join(nodes)} bone")
    return "\n".join(lines) + "\n"
