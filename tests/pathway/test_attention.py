"""The worklist's "most pressing first": `episodes.attention` kept by the database whatever
writes the reminders, the order and pages built on it, search and totals, and one reminder
per task (a heads-up resolved when its overdue reminder is raised), on both databases."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from pathway import reminder_actions
from pathway.escalation import wake_snoozed
from pathway.reminders import raise_due_reminders
from pathway.scan import raise_all_due
from pathway.store.due import SUPERSEDED
from pathway.store.models import Episode, Reminder, ReminderAction
from pathway.store.worklist import (
    ATTENTION_OF_PRIORITY,
    NO_ATTENTION,
    Cursor,
    EpisodeFilter,
    count_episodes,
    list_episodes,
)
from tests.builders import DAY0, at, open_at, send

UTC = dt.UTC


def _expected(session: Session) -> dict[int, int]:
    """Each episode's attention computed from its reminders in Python (the reference)."""
    found = {e: NO_ATTENTION for e in session.scalars(select(Episode.id))}
    for episode_id, priority, status in session.execute(
            select(Reminder.episode_id, Reminder.priority, Reminder.status)):
        if status in ("open", "acknowledged"):
            found[episode_id] = min(found[episode_id], ATTENTION_OF_PRIORITY[priority])
    return found


def _stored(session: Session) -> dict[int, int]:
    session.flush()
    session.expire_all()
    return {i: a for i, a in session.execute(select(Episode.id, Episode.attention))}


def _open_reminder(session: Session, episode_id: int, kind: str) -> Reminder:
    reminder = session.scalar(select(Reminder).where(
        Reminder.episode_id == episode_id, Reminder.kind == kind))
    assert reminder is not None, kind
    return reminder


def test_attention_follows_a_stat_reminder_through_its_life(session: Session) -> None:
    ep = open_at(session)
    send(session, ep, "start_conservative_care", 1)
    assert _stored(session)[ep.id] == NO_ATTENTION
    send(session, ep, "record_neuro_change", 10, findings=["motor_weakness"])
    assert _stored(session)[ep.id] == ATTENTION_OF_PRIORITY["stat"]
    stat = _open_reminder(session, ep.id, "urgent_surgical_review")
    reminder_actions.acknowledge(session, reminder_id=stat.id, actor="user:a", now=at(10))
    assert _stored(session)[ep.id] == 0  # acknowledged: still pressing until resolved
    reminder_actions.snooze(session, reminder_id=stat.id, until=DAY0 + dt.timedelta(days=12),
                            reason="called the ward", actor="user:a", now=at(10), zone=UTC)
    assert _stored(session)[ep.id] == NO_ATTENTION  # snoozed: waits
    wake_snoozed(session, now=at(13))
    assert _stored(session)[ep.id] == 0  # awake again
    send(session, ep, "refer_surgery", 13, reason="neurological_deficit")
    assert _stored(session) == _expected(session)
    assert _stored(session)[ep.id] != 0


def test_attention_equals_the_reference_after_random_work(session: Session) -> None:
    rng = random.Random(7)
    episodes = [open_at(session, day=0, patient={"mrn": f"R{i}"}) for i in range(8)]
    for ep in episodes:
        send(session, ep, "start_conservative_care", 1)
    for day in range(2, 80, 3):
        raise_all_due(session, now=at(day)) if day % 2 else raise_due_reminders(
            session, now=at(day))
        ep = rng.choice(episodes)
        step = rng.choice(["neuro", "contact", "ack", "snooze", "therapy"])
        live = list(session.scalars(select(Reminder).where(
            Reminder.episode_id == ep.id, Reminder.status != "resolved")))
        if step == "neuro" and ep.state != "surgical_referral":
            send(session, ep, "record_neuro_change", day, findings=["motor_weakness"])
        elif step == "contact":
            send(session, ep, "record_contact", day, kind="liaison_monitoring")
        elif step == "therapy":
            send(session, ep, "record_therapy", day, agent="alendronate")
        elif live and step == "ack":
            reminder_actions.acknowledge(session, reminder_id=live[0].id, actor="u", now=at(day))
        elif live and live[0].status != "snoozed":
            reminder_actions.snooze(session, reminder_id=live[0].id,
                                    until=DAY0 + dt.timedelta(days=day + 2), reason="r",
                                    actor="u", now=at(day), zone=UTC)
        wake_snoozed(session, now=at(day))
        assert _stored(session) == _expected(session), f"day {day}, {step}"
    assert set(_stored(session).values()) - {NO_ATTENTION}, "the walk raised nothing"


def _ids(session: Session, where: EpisodeFilter, limit: int) -> list[int]:
    """Every page of the worklist's order, walked with cursors (through their text form)."""
    seen: list[int] = []
    after: Cursor | None = None
    while True:
        page, after = list_episodes(session, where=where, limit=limit, after=after,
                                    most_pressing_first=True)
        seen += [e.id for e in page]
        if after is None:
            return seen
        after = Cursor.decode(after.encode())


def test_most_pressing_first_and_every_page_once(session: Session) -> None:
    stat = open_at(session, day=0, patient={"mrn": "STAT1", "name": "Ann Stat"})
    send(session, stat, "start_conservative_care", 1)
    send(session, stat, "record_neuro_change", 2, findings=["motor_weakness"])
    others = [open_at(session, day=0, identified_on=(DAY0 - dt.timedelta(days=d)).isoformat(),
                      patient={"mrn": f"O{d}"}) for d in range(0, 60, 5)]
    for ep in others:
        send(session, ep, "start_conservative_care", 1)
    raise_all_due(session, now=at(45))
    session.commit()
    # Columns, not objects: the database keeps attention, and the objects this session holds
    # are stale (the pages must not trust them either).
    rows = session.execute(select(Episode.id, Episode.attention, Episode.next_overdue_at)).all()
    reference = sorted(rows, key=lambda e: (
        e.attention, e.next_overdue_at is None,
        e.next_overdue_at or dt.datetime.max.replace(tzinfo=UTC), e.id))
    where = EpisodeFilter(open_only=True)
    for limit in (1, 2, 3, 5, 50):
        walked = _ids(session, where, limit)
        assert walked == [e.id for e in reference], (limit, walked)
    assert reference[0].id == stat.id
    assert len({e.attention for e in reference}) >= 2
    assert count_episodes(session, where=where) == len(reference)


def test_search_finds_name_or_mrn_anywhere_case_insensitive(session: Session) -> None:
    smith = open_at(session, patient={"mrn": "MRN0042", "name": "SMITH, John"})
    open_at(session, patient={"mrn": "MRN0777", "name": "Jones, Ada"})
    open_at(session, patient={"mrn": "X1", "name": "Per%_son"})
    for text, expected in (("smith", [smith.id]), ("0042", [smith.id]), ("rn0", None),
                           ("%_", None), ("nobody", [])):
        where = EpisodeFilter(search=text)
        page, _ = list_episodes(session, where=where, limit=10, most_pressing_first=True)
        if expected is not None:
            assert [e.id for e in page] == expected, text
        assert count_episodes(session, where=where) == len(page), text
    assert len(list_episodes(session, where=EpisodeFilter(search="rn0"), limit=9)[0]) == 2
    assert len(list_episodes(session, where=EpisodeFilter(search="%_"), limit=9)[0]) == 1


def _reassessment(session: Session, episode_id: int) -> dict[str, str]:
    session.expire_all()
    return {r.kind: r.status for r in session.scalars(select(Reminder).where(
        Reminder.episode_id == episode_id, Reminder.kind.like("reassessment%")))}


def test_a_heads_up_is_resolved_when_its_overdue_is_raised(session: Session) -> None:
    for scan in (raise_all_due, raise_due_reminders):
        ep = open_at(session, day=0)
        send(session, ep, "start_conservative_care", 0)
        scan(session, now=at(29))  # the heads-up: reassessment due from day 28
        assert _reassessment(session, ep.id) == {"reassessment_due": "open"}, scan
        scan(session, now=at(43))  # overdue from day 42
        assert _reassessment(session, ep.id) == {
            "reassessment_due": "resolved", "reassessment_overdue": "open"}, scan
        heads_up = _open_reminder(session, ep.id, "reassessment_due")
        assert heads_up.resolution == SUPERSEDED
        steps = [a.action for a in session.scalars(select(ReminderAction).where(
            ReminderAction.reminder_id == heads_up.id).order_by(ReminderAction.id))]
        assert steps[0] == "raised" and steps[-1] == "resolved"


def test_a_late_catch_up_raises_one_reminder_per_task(session: Session) -> None:
    ep = open_at(session, day=0)
    send(session, ep, "start_conservative_care", 0)
    raise_all_due(session, now=at(50))  # heads-up and overdue both passed (downtime)
    assert _reassessment(session, ep.id) == {
        "reassessment_due": "resolved", "reassessment_overdue": "open"}
    late = open_at(session, day=50, identified_on=(DAY0 - dt.timedelta(days=60)).isoformat(),
                   patient={"mrn": "LATE"})
    send(session, late, "start_conservative_care", 50)  # opens an already-overdue window
    live = [k for k, s in _reassessment(session, late.id).items() if s != "resolved"]
    assert live == ["reassessment_overdue"]
