"""The tables as Core `Table` objects, for the store's statements."""

from __future__ import annotations

from sqlalchemy import Table

from pathway.store.models import (
    Base,
    Episode,
    EventRecord,
    ImagingRecord,
    Milestone,
    Patient,
    Reminder,
    ReminderAction,
    TherapyRecord,
    WebhookSubscription,
)


def table_of(cls: type[Base]) -> Table:
    """A mapped class's table, typed as one."""
    table = cls.__table__
    assert isinstance(table, Table)
    return table


EPISODES = table_of(Episode)
PATIENTS = table_of(Patient)
MILESTONES = table_of(Milestone)
EVENTS = table_of(EventRecord)
IMAGING = table_of(ImagingRecord)
THERAPIES = table_of(TherapyRecord)
REMINDERS = table_of(Reminder)
REMINDER_ACTIONS = table_of(ReminderAction)
SUBSCRIPTIONS = table_of(WebhookSubscription)
