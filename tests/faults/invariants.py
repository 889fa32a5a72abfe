"""What must hold in the database after any fault: the audit the fault tests end with.

- Every episode: its log's sequence numbers run 1..n, its version is n, its state is the last
  event's target, replaying the log through the machine gives the same state, the open
  fracture-care milestone is the one its state watches (none in a final state), at most one
  open milestone per kind, the denormalised next-overdue column agrees with the milestones.
- Every reminder: raised once (one `raised` action), resolved if its milestone closed, and
  announced in the outbox to every subscription that wants it; every event likewise.
- Nothing left behind: no open milestone whose alert time has passed (once the schedulers had
  time to scan).
- The writes the clients saw acknowledged are exactly the events logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pathway.definition import builtin_definition
from pathway.episodes import replay
from pathway.outbox import Topic
from pathway.rules.table import table_of
from pathway.store.models import (
    Base,
    Delivery,
    Episode,
    EventRecord,
    Milestone,
    Reminder,
    ReminderAction,
    WebhookSubscription,
)
from pathway.vocabulary import MilestoneStatus, ReminderKind, ReminderStatus
from tests.faults.workload import Outcome

Row = TypeVar("Row")
#: Version 1's milestone watching each state (the suites run on version 1).
WATCHED_BY_STATE = table_of(builtin_definition(1)).watched_by_state
TRACK_KINDS = frozenset(k.value for k in WATCHED_BY_STATE.values())
UNRESOLVED = frozenset({ReminderStatus.OPEN.value, ReminderStatus.ACKNOWLEDGED.value,
                        ReminderStatus.SNOOZED.value})
#: Announced when the course ends, then met: the notice stays open for the coordinator.
NOTICES = frozenset({ReminderKind.CALCITONIN_COURSE_END.value})


@dataclass
class Audit:
    """The result of an audit: what was checked and every broken rule found."""

    episodes: int = 0
    events: int = 0
    milestones: int = 0
    reminders: int = 0
    deliveries: int = 0
    problems: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"episodes": self.episodes, "events": self.events,
                "milestones": self.milestones, "reminders": self.reminders,
                "outbox rows": self.deliveries}

    def assert_clean(self) -> None:
        shown = "\n".join(self.problems[:40])
        assert not self.problems, f"{len(self.problems)} broken invariants:\n{shown}"


def _by_episode(rows: Iterable[Row], key: str) -> dict[int, list[Row]]:
    grouped: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped


def _audit_episode(session: Session, episode: Episode, events: list[EventRecord],
                   milestones: list[Milestone], audit: Audit) -> None:
    say = audit.problems.append
    seqs = [e.seq for e in events]
    if seqs != list(range(1, len(seqs) + 1)):
        say(f"episode {episode.id}: log sequence {seqs[:10]}... is not 1..n")
        return
    if episode.version != seqs[-1]:
        say(f"episode {episode.id}: version {episode.version} but last seq {seqs[-1]}")
    if episode.state != events[-1].target_state:
        say(f"episode {episode.id}: state {episode.state} but last event -> "
            f"{events[-1].target_state}")
    if not replay(session, episode.id).matches_stored:
        say(f"episode {episode.id}: replaying the log does not give {episode.state}")
    open_rows = [m for m in milestones if m.status == MilestoneStatus.OPEN.value]
    doubled = [k for k, n in Counter(m.kind for m in open_rows).items() if n > 1]
    if doubled:
        say(f"episode {episode.id}: several open milestones of {doubled}")
    track = {m.kind for m in open_rows if m.kind in TRACK_KINDS}
    watched = WATCHED_BY_STATE.get(episode.state)
    expected = {watched.value} if watched is not None else set()
    if track != expected:
        say(f"episode {episode.id} in {episode.state}: open track milestones {track}, "
            f"expected {expected}")
    if episode.state == "closed" and open_rows:
        say(f"episode {episode.id}: closed with open milestones")
    soonest = min(open_rows, key=lambda m: (m.overdue_at, m.id), default=None)
    if episode.next_overdue_at != (soonest.overdue_at if soonest else None):
        say(f"episode {episode.id}: next_overdue_at {episode.next_overdue_at} disagrees with "
            f"its milestones")


def _audit_reminders(session: Session, milestones: dict[int, Milestone], audit: Audit) -> None:
    say = audit.problems.append
    reminders = list(session.scalars(select(Reminder)))
    audit.reminders = len(reminders)
    raised = Counter(dict(session.execute(
        select(ReminderAction.reminder_id, func.count()).where(
            ReminderAction.action == "raised").group_by(ReminderAction.reminder_id)).all()))
    subscriptions = list(session.scalars(select(WebhookSubscription)))
    announced = Counter(session.execute(
        select(Delivery.reminder_id, Delivery.target).where(
            Delivery.topic == Topic.REMINDER_RAISED.value, Delivery.channel == "webhook")).all())
    audit.deliveries = int(session.scalar(select(func.count()).select_from(Delivery)) or 0)
    for reminder in reminders:
        if raised[reminder.id] != 1:
            say(f"reminder {reminder.id} ({reminder.kind}): raised {raised[reminder.id]} times")
        milestone = milestones.get(reminder.milestone_id or 0)
        if (milestone is not None and milestone.status != MilestoneStatus.OPEN.value
                and reminder.status in UNRESOLVED and reminder.kind not in NOTICES):
            say(f"reminder {reminder.id} ({reminder.kind}) still {reminder.status} although "
                f"its milestone is {milestone.status}")
        for sub in subscriptions:
            if sub.created_at > reminder.raised_at or not _wants(sub, reminder.kind):
                continue
            n = announced[(reminder.id, str(sub.id))]
            if n != 1:
                say(f"reminder {reminder.id}: {n} outbox rows for subscription {sub.id}")


def _audit_event_outbox(session: Session, audit: Audit) -> None:
    """Every logged event is in the outbox once for each subscription to its name."""
    subscriptions = [s for s in session.scalars(select(WebhookSubscription)) if s.event_names]
    if not subscriptions:
        return
    announced = Counter(session.execute(
        select(Delivery.event_id, Delivery.target).where(
            Delivery.topic == Topic.EPISODE_EVENT.value)).all())
    for event in session.scalars(select(EventRecord)):
        for sub in subscriptions:
            wanted = event.name in sub.event_names or "*" in sub.event_names
            if not wanted or sub.created_at > event.recorded_at:
                continue
            n = announced[(event.id, str(sub.id))]
            if n != 1:
                audit.problems.append(f"event {event.id} ({event.name} of episode "
                                      f"{event.episode_id}): {n} outbox rows for "
                                      f"subscription {sub.id}")


def _wants(sub: WebhookSubscription, kind: str) -> bool:
    if not sub.reminder_kinds:
        return not sub.event_names
    return kind in sub.reminder_kinds or Topic.REMINDER_RAISED.value in sub.reminder_kinds


def audit_database(session: Session, *, settled_at: dt.datetime | None = None) -> Audit:
    """Check every invariant; `settled_at`: also check that nothing due by then is unraised."""
    audit = Audit()
    episodes = list(session.scalars(select(Episode).order_by(Episode.id)))
    events = _by_episode(session.scalars(select(EventRecord).order_by(
        EventRecord.episode_id, EventRecord.seq)), "episode_id")
    all_milestones = list(session.scalars(select(Milestone).order_by(Milestone.id)))
    milestones = _by_episode(all_milestones, "episode_id")
    audit.episodes, audit.milestones = len(episodes), len(all_milestones)
    audit.events = sum(len(v) for v in events.values())
    for episode in episodes:
        _audit_episode(session, episode, events.get(episode.id, []),
                       milestones.get(episode.id, []), audit)
    _audit_reminders(session, {m.id: m for m in all_milestones}, audit)
    _audit_event_outbox(session, audit)
    if settled_at is not None:
        late = [m for m in all_milestones
                if m.next_alert_at is not None and m.next_alert_at <= settled_at]
        audit.problems.extend(
            f"milestone {m.id} ({m.kind}) of episode {m.episode_id}: alert due at "
            f"{m.next_alert_at.isoformat()} never raised" for m in late[:20])
    return audit


def check_acknowledged(session: Session, outcomes: list[Outcome], *,
                       exact: bool = True) -> list[str]:
    """Every acknowledged write is in the log under the seq it was acknowledged with; with
    `exact`, nothing else is (every write had a definitive answer)."""
    logged = {(e.episode_id, e.seq): e.name for e in session.scalars(
        select(EventRecord).where(EventRecord.seq > 1))}
    acked: dict[tuple[int, int], str] = {}
    problems = []
    for o in outcomes:
        if not 200 <= o.status < 300:
            continue
        assert o.seq is not None
        where = (o.episode_id, o.seq)
        if where in acked and acked[where] != o.event:
            problems.append(f"two writes acknowledged as episode {where[0]} seq {where[1]}")
        acked[where] = o.event
    for where, name in acked.items():
        if logged.get(where) != name:
            problems.append(f"acknowledged {name} at episode {where[0]} seq {where[1]} is "
                            f"missing (log has {logged.get(where)})")
    if exact:
        for where, name in logged.items():
            if where not in acked:
                problems.append(f"logged {name} at episode {where[0]} seq {where[1]} was never "
                                f"acknowledged")
    return problems


#: What any request may write without changing the product's data: a key's last use, the
#: dashboard's sessions, the login throttle's failures and the access log (a hostile request
#: that reads data legitimately is audited). `snapshot` leaves them out.
BOOKKEEPING_TABLES = frozenset({"web_sessions", "login_failures", "access_log"})
BOOKKEEPING_COLUMNS = {"api_keys": frozenset({"last_used_at"})}


def snapshot(engine: Engine) -> dict[str, tuple[int, str]]:
    """Row count and SHA-256 of every table's rows (ordered by primary key), bookkeeping
    aside (`BOOKKEEPING_TABLES`, `BOOKKEEPING_COLUMNS`)."""
    result: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in BOOKKEEPING_TABLES:
                continue
            skip = BOOKKEEPING_COLUMNS.get(table.name, frozenset())
            columns = [c for c in table.columns if c.name not in skip]
            rows = conn.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            result[table.name] = (len(rows), digest)
    return result
