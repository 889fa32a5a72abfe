"""What happens to a reminder nobody has dealt with: its snooze ends, or it escalates.

Escalation: a reminder whose rule escalates gets `escalate_at` when it is raised (raise time +
the pathway version's `escalation_days`). Once that time passes with the reminder still
`open` (not acknowledged, not snoozed, not resolved), it escalates **once**: `escalated_at` is
set, the step is kept as a reminder action, and `reminder.escalated` messages are queued for
the lead clinician's e-mail and the webhooks that subscribe to it. Rows are claimed with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (`pathway.store.escalation`), and `escalated_at` is
the guard, so several scheduler processes escalate each reminder once. Acknowledged or
resolved reminders leave the `ix_reminders_escalate_at` index here, so the query's cost
follows the rows due.

Snooze: a coordinator snoozes a reminder until a time (status `snoozed`, `snoozed_until`).
While it sleeps, its messages to the coordinator are held by the sender (see
`pathway.deliveries`) and it does not escalate. When the time passes, `wake_snoozed` sets it
back to `open` and re-delivers it once (`reminder.snooze_ended`): a message still held from
before the snooze *is* that re-delivery, so a channel that has one gets no second message. The
escalation clock restarts at the wake: a snooze is a coordinator's deliberate, recorded
decision, and escalating the minute it ends would defeat it; the lead still hears of a
reminder left unattended for `escalation_days` after it came back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from pathway.outbox import COORDINATOR_TOPICS, Topic, enqueue_reminder
from pathway.reminders import SYSTEM_ACTOR, record_action
from pathway.store import escalation as store
from pathway.store.deliveries import waiting_targets
from pathway.store.models import Episode, Reminder
from pathway.store.reminder_actions import times_taken
from pathway.store.versions import load_definition
from pathway.store.worklist import episodes_by_id
from pathway.vocabulary import ReminderStatus

SNOOZE_ENDED = "snooze_ended"
ESCALATED = "escalated"


@dataclass(frozen=True)
class EscalationResult:
    """What one escalation pass did."""

    escalated: int
    cleared: int  # acknowledged meanwhile: will never escalate, dropped from the index


def _episodes(session: Session, reminders: list[Reminder]) -> dict[int, Episode]:
    return episodes_by_id(session, {r.episode_id for r in reminders})


def escalate_due(
    session: Session, *, now: dt.datetime, lead_email: str | None, limit: int = 500,
    actor: str = SYSTEM_ACTOR,
) -> EscalationResult:
    """Escalate, once, the open reminders whose escalation time has come (one batch)."""
    due = store.escalations_due(session, now=now, limit=limit)
    episodes = _episodes(session, due)
    escalated = cleared = 0
    for reminder in due:
        if reminder.status != ReminderStatus.OPEN.value:
            reminder.escalate_at = None
            cleared += 1
            continue
        episode = episodes[reminder.episode_id]
        definition = load_definition(session, episode.pathway_version)
        reminder.escalated_at = now
        reminder.escalate_at = None
        record_action(session, reminder, actor=actor, action=ESCALATED, now=now,
                      detail={"after_days": definition.escalation_days})
        enqueue_reminder(session, reminder=reminder, episode=episode,
                         topic=Topic.REMINDER_ESCALATED.value, now=now,
                         email_to=lead_email or None, email_coordinator=False)
        escalated += 1
    session.flush()
    return EscalationResult(escalated=escalated, cleared=cleared)


def _held_targets(session: Session, reminder_id: int) -> set[tuple[str, str]]:
    """Where a message to the coordinator about the reminder is still held (pending)."""
    return waiting_targets(session, reminder_id, COORDINATOR_TOPICS)


def _wakes_so_far(session: Session, reminder_id: int) -> int:
    return times_taken(session, reminder_id, SNOOZE_ENDED)


def wake_snoozed(
    session: Session, *, now: dt.datetime, limit: int = 500, actor: str = SYSTEM_ACTOR
) -> int:
    """Reopen the snoozed reminders whose snooze has ended and re-deliver each once; returns
    how many woke (one batch)."""
    due = store.snoozes_ended(session, now=now, limit=limit)
    episodes = _episodes(session, due)
    for reminder in due:
        episode = episodes[reminder.episode_id]
        definition = load_definition(session, episode.pathway_version)
        until = reminder.snoozed_until
        reminder.status = ReminderStatus.OPEN.value
        reminder.snoozed_until = None
        if reminder.escalated_at is None and reminder.escalate_at is not None:
            restart = now + dt.timedelta(days=definition.escalation_days)
            reminder.escalate_at = max(reminder.escalate_at, restart)
        wake = _wakes_so_far(session, reminder.id) + 1
        record_action(session, reminder, actor=actor, action=SNOOZE_ENDED, now=now,
                      detail={"snoozed_until": until.isoformat() if until else None})
        enqueue_reminder(session, reminder=reminder, episode=episode,
                         topic=Topic.REMINDER_SNOOZE_ENDED.value, now=now,
                         key_suffix=f"-{wake}", skip=_held_targets(session, reminder.id))
    session.flush()
    return len(due)
