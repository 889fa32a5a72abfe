"""Prometheus metrics in the text exposition format (0.0.4).

Request counts are this process's own; everything else is counted from the database, so the
figures are right however many API and scheduler processes run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy.orm import Session
from starlette.responses import PlainTextResponse

from pathway.deliveries import count_by_channel
from pathway.outbox import DEAD, DELIVERED, SKIPPED
from pathway.reminders import OPEN_STATUSES
from pathway.store import tallies
from pathway.vocabulary import OPENED_EVENT, Fact, TransitionEvent

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Labels = tuple[tuple[str, str], ...]
#: One metric family: name, type, help text and samples.
Family = tuple[str, str, str, list[tuple[Labels, int]]]


class MetricsResponse(PlainTextResponse):
    """Prometheus text."""

    media_type = CONTENT_TYPE


class RequestCounter:
    """HTTP requests served by this process, by method, route template and status."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, int]] = Counter()

    def add(self, method: str, route: str, status: int) -> None:
        """Count one request."""
        self.counts[(method, route, status)] += 1


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, help_text: str,
            samples: Iterable[tuple[Labels, int]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
        lines.append(f"{name}{{{text}}} {value}" if text else f"{name} {value}")
    return lines


def _by(label: str, rows: Iterable[tuple[str, int]]) -> list[tuple[Labels, int]]:
    return [(((label, value),), n) for value, n in rows]


def _request_family(requests: RequestCounter) -> Family:
    samples: list[tuple[Labels, int]] = [
        ((("method", m), ("route", r), ("status", str(s))), n)
        for (m, r, s), n in sorted(requests.counts.items())]
    return ("pathway_http_requests_total", "counter", "HTTP requests served by this process.",
            samples)


def _event_families(session: Session) -> list[Family]:
    """Openings, transitions and facts, all counted from the event log."""
    transitions = {e.value for e in TransitionEvent}
    facts = {f.value for f in Fact}
    events = tallies.events_by_name(session)
    return [
        ("pathway_episodes_opened_total", "counter", "Episodes opened.",
         [((), sum(n for name, n in events if name == OPENED_EVENT))]),
        ("pathway_transitions_total", "counter", "Transition events recorded, by event.",
         _by("event", [(e, n) for e, n in events if e in transitions])),
        ("pathway_facts_total", "counter", "Facts recorded, by fact.",
         _by("fact", [(e, n) for e, n in events if e in facts])),
    ]


def _episode_and_reminder_families(session: Session) -> list[Family]:
    return [
        ("pathway_episodes", "gauge", "Episodes by current state.",
         _by("state", tallies.episodes_by_state(session))),
        ("pathway_reminders_raised_total", "counter", "Reminders raised, by kind.",
         _by("kind", tallies.reminders_by_kind(session))),
        ("pathway_reminders_open", "gauge", "Reminders not yet resolved, by kind.",
         _by("kind", tallies.reminders_by_kind(session, statuses=OPEN_STATUSES))),
    ]


def _delivery_families(session: Session) -> list[Family]:
    return [
        ("pathway_reminders_delivered_total", "counter",
         "Reminder messages delivered, by channel.",
         _by("channel", tallies.deliveries_by_channel(session, status=DELIVERED,
                                                      reminders_only=True))),
        ("pathway_deliveries_delivered_total", "counter", "Messages delivered, by channel.",
         _by("channel", tallies.deliveries_by_channel(session, status=DELIVERED))),
        ("pathway_delivery_failures_total", "counter", "Failed delivery attempts, by channel.",
         _by("channel", tallies.failed_attempts_by_channel(session))),
        ("pathway_deliveries_dead", "gauge", "Dead letters waiting for an operator, by channel.",
         _by("channel", tallies.deliveries_by_channel(session, status=DEAD))),
        ("pathway_deliveries_skipped_total", "counter",
         "Messages never sent because their reminder was resolved first, by channel.",
         _by("channel", count_by_channel(session, SKIPPED))),
    ]


def render(session: Session, requests: RequestCounter) -> str:
    """Every metric family as Prometheus text."""
    families = [_request_family(requests), *_event_families(session),
                *_episode_and_reminder_families(session), *_delivery_families(session)]
    lines: list[str] = []
    for name, kind, help_text, samples in families:
        lines += _family(name, kind, help_text, samples)
    return "\n".join(lines) + "\n"
