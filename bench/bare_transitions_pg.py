"""The yardstick of workload 2 on PostgreSQL: the same hand-written statements as
`bench.bare_transitions` (an open, a `start_conservative_care` step, one transaction each),
on psycopg's own cursor against the same migrated schema: what the server and the driver
alone cost for the work. No SQLAlchemy, no validation, no state machine, no rules."""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg.types.json import Json

from bench.bare_transitions import INTAKE, KINDS, timed_rates

TS = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 2)
_ANY_HOOK = "SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE active)"


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def open_one(conn: psycopg.Connection, mrn: str) -> int:
    """One open, its own transaction; the new episode's id."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT max(version) FROM pathway_versions")
        cur.execute("SELECT id FROM patients WHERE mrn = %s", (mrn,))
        cur.execute("INSERT INTO patients (mrn, created_at) VALUES (%s, %s) RETURNING id",
                    (mrn, TS))
        patient = cur.fetchone()[0]  # type: ignore[index]
        cur.execute(
            "INSERT INTO episodes (patient_id, state, pathway_version, version, identified_on, "
            "coordinator, levels, intake, neuro_intact, instability, cord_compression, "
            "red_flags_open, next_overdue_at, next_milestone, opened_at, updated_at) "
            "VALUES (%s, 'assessed', 1, 1, %s, 'coordinator1', %s, %s, true, false, false, "
            "false, %s, 'plan_decision', %s, %s) RETURNING id",
            (patient, DAY, Json(["L1"]), Json(INTAKE), TS, TS, TS))
        episode = cur.fetchone()[0]  # type: ignore[index]
        cur.execute("INSERT INTO events (episode_id, seq, name, occurred_on, recorded_at, "
                    "actor, target_state, data) VALUES (%s, 1, 'opened', %s, %s, 'bench', "
                    "'assessed', '{}') RETURNING id", (episode, DAY, TS))
        for kind in KINDS:
            cur.execute("INSERT INTO milestones (episode_id, kind, status, anchor_on, due_on, "
                        "overdue_on, due_at, overdue_at, next_alert_at, next_alert_kind, "
                        "created_at) VALUES (%s, %s, 'open', %s, %s, %s, %s, %s, %s, %s, %s) "
                        "RETURNING id", (episode, kind, DAY, DAY, DAY, TS, TS, TS,
                                         f"{kind}_overdue", TS))
        cur.execute(_ANY_HOOK)
    return int(episode)


def step_one(conn: psycopg.Connection, episode: int) -> None:
    """One step, its own transaction."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT * FROM episodes WHERE id = %s", (episode,))
        version = cur.fetchone()[4]  # type: ignore[index]
        cur.execute("UPDATE episodes SET state = 'conservative_care', version = %s, "
                    "updated_at = %s WHERE id = %s AND version = %s",
                    (version + 1, TS, episode, version))
        cur.execute("INSERT INTO events (episode_id, seq, name, occurred_on, recorded_at, "
                    "actor, source_state, target_state, data) VALUES (%s, %s, "
                    "'start_conservative_care', %s, %s, 'bench', 'assessed', "
                    "'conservative_care', '{}') RETURNING id", (episode, version + 1, DAY, TS))
        cur.execute(_ANY_HOOK)
        cur.execute("SELECT * FROM milestones WHERE episode_id = %s ORDER BY id", (episode,))
        first = cur.fetchall()[0][0]
        cur.execute("UPDATE milestones SET status = 'met', next_alert_at = NULL, "
                    "next_alert_kind = NULL, met_on = %s, closed_at = %s WHERE id = %s",
                    (DAY, TS, first))
        cur.execute("SELECT * FROM reminders WHERE episode_id = %s AND milestone_id = %s AND "
                    "status IN ('open', 'snoozed', 'acknowledged')", (episode, first))
        cur.execute("INSERT INTO milestones (episode_id, kind, status, anchor_on, due_on, "
                    "overdue_on, due_at, overdue_at, next_alert_at, next_alert_kind, "
                    "created_at) VALUES (%s, 'reassessment', 'open', %s, %s, %s, %s, %s, %s, "
                    "'reassessment_due', %s) RETURNING id",
                    (episode, DAY, DAY, DAY, TS, TS, TS, TS))
        cur.execute("UPDATE episodes SET next_overdue_at = %s, next_milestone = 'reassessment' "
                    "WHERE id = %s", (TS, episode))


def bare_rates_pg(url: str, episodes: int, prefix: str) -> tuple[float, float]:
    """(opens/s, steps/s) of the hand-written statements over `episodes` new episodes."""
    with psycopg.connect(_libpq_url(url), autocommit=True) as conn:
        return timed_rates(lambda mrn: open_one(conn, mrn),
                           lambda episode: step_one(conn, episode), episodes, prefix)
