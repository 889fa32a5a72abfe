"""Reminders of one episode: the per-episode scan, the open ones, a step of their history.

Raising is an insert that ignores conflicts on (episode, kind, due date), so however many
processes scan, a reminder is raised once. What is due and what it raises is decided by the
rules (`pathway.rules.alerts`), the same table the scheduler's set-based scan is built from
(`pathway.scan`); a property test runs both on random cohorts and compares their reminders
(tests/pathway/test_scan_equivalence.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from pathway.outbox import queue_raised
from pathway.rules.alerts import Alerting, due_alerts
from pathway.rules.changes import AlertMoved, NewReminder
from pathway.store import due, snapshots
from pathway.store import episodes as store
from pathway.store.due import SYSTEM_ACTOR, ScanResult
from pathway.store.held import refresh_held
from pathway.store.models import Reminder, ReminderAction
from pathway.store.statements import OPEN_STATUSES
from pathway.store.versions import load_definition

__all__ = ["OPEN_STATUSES", "SYSTEM_ACTOR", "ScanResult", "raise_due_reminders",
           "record_action"]


def record_action(session: Session, reminder: Reminder, *, actor: str, action: str,
                  now: dt.datetime, detail: dict[str, object]) -> None:
    """Keep one step of a reminder's history."""
    session.add(ReminderAction(reminder_id=reminder.id, at=now, actor=actor, action=action,
                               detail=detail))


def _scan_episode(session: Session, episode_id: int, now: dt.datetime) -> tuple[int, int, int]:
    """Raise what one episode's milestones have due by `now`; (examined, raised, attempts)."""
    loaded = snapshots.load(session, episode_id)
    if loaded is None:
        return 0, 0, 0
    snapshot = loaded.snapshot
    definition = load_definition(session, snapshot.pathway_version)
    dues: list[NewReminder] = []
    moved: list[AlertMoved] = []
    examined = 0
    for m in snapshot.milestones:
        if not m.is_open or m.next_alert_at is None or m.next_alert_at > now:
            continue
        examined += 1
        found, move = due_alerts(definition, Alerting(
            m.kind, m.due_on, m.overdue_on, m.overdue_at, m.next_alert_at, m.next_alert_kind),
            now, m.id)
        dues += found
        if move is not None:
            moved.append(move)
    due.move_alerts(session, moved, now)
    raised = [rid for rid, _kind in store.raise_reminders(session, episode_id, dues, (), now)]
    queue_raised(session, raised, now)
    return examined, len(raised), len(dues)


def raise_due_reminders(session: Session, *, now: dt.datetime, limit: int = 1000,
                        episode_id: int | None = None) -> ScanResult:
    """The per-episode scan: raise every reminder whose milestone alert time has come, for
    one episode or for the episodes of one batch of `limit` due milestones."""
    episodes = [episode_id] if episode_id is not None else due.claim_episodes(
        session, now, limit)
    examined = raised = attempts = 0
    for one in episodes:
        e, r, a = _scan_episode(session, one, now)
        examined, raised, attempts = examined + e, raised + r, attempts + a
        if session.identity_map:
            refresh_held(session, one)
    return ScanResult(examined, raised, attempts - raised)
