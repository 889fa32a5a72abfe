"""Workload 2's storage target, what the remaining steps towards it would give (SQLite).

Builds a database the way workload 2 does (episodes opened and advanced through the use cases,
grown by copying the same rows), then measures bytes per episode (after VACUUM, with the
largest tables and their indexes) of copies of it changed step by step, each step on top of
the previous one (`STEPS`: reminders without their copied rule and seeds, names as small
integers, redundant columns dropped, the intake JSON reduced to `{}`, two indexes dropped).
The copies only estimate what each schema change would save; none of
them is a supported schema.

    .venv/bin/python -m bench.storage             # 2,000 episodes built, grown to 20,000
    .venv/bin/python -m bench.storage --quick     # 300 built, grown to 3,000
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

from bench import bulk
from bench.common import BenchDatabase, base_parser, fresh_database, machine_line
from bench.transitions import run_once, table_sizes


def _small_integers(table: str, *columns: str) -> str:
    # A name replaced by a small integer of the same size as a code from a lookup table would
    # be (one or two bytes); the value only has to be small, not meaningful.
    return "".join(f"UPDATE {table} SET {c} = unicode(substr({c}, 1, 1)) + length({c}) "
                   f"WHERE {c} IS NOT NULL;" for c in columns)


#: (label, SQL applied on top of the previous step)
STEPS: tuple[tuple[str, str], ...] = (
    ("as the product stores it", ""),
    ("+ reminders without their rule text", "UPDATE reminders SET rule = '';"),
    ("+ reminders without their seeds", "UPDATE reminders SET seeds = '[]';"),
    ("+ kinds, states, statuses as small integers",
     "DROP TRIGGER IF EXISTS events_no_update;"  # the event log refuses updates
     + _small_integers("milestones", "kind", "status", "next_alert_kind")
     + _small_integers("reminders", "kind", "status", "priority", "resolution")
     + _small_integers("events", "name", "source_state", "target_state")
     + _small_integers("episodes", "state", "next_milestone")
     + _small_integers("reminder_actions", "action")),
    ("+ actors as small integers", "UPDATE events SET actor = 1; "
                                   "UPDATE reminder_actions SET actor = 1;"),
    ("+ milestones without due_at, overdue_at (derivable from the dates)",
     "ALTER TABLE milestones DROP COLUMN due_at; ALTER TABLE milestones DROP COLUMN overdue_at;"),
    ("+ reminder history without its detail", "UPDATE reminder_actions SET detail = '{}';"),
    ("+ intake JSON as '{}'", "UPDATE episodes SET intake = '{}';"),
    ("+ without ix_reminders_status_kind, ix_episodes_next_overdue_at",
     "DROP INDEX ix_reminders_status_kind; DROP INDEX ix_episodes_next_overdue_at;"),
)


def bytes_per_episode(path: Path) -> tuple[float, list[tuple[str, float]]]:
    """Size after VACUUM over the episode count, and the largest tables with their indexes."""
    conn = sqlite3.connect(path)
    conn.execute("VACUUM")
    size = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute(
        "PRAGMA page_size").fetchone()[0]
    episodes = conn.execute("SELECT count(*) FROM episodes").fetchone()[0]
    conn.close()
    sizes = table_sizes(BenchDatabase(url=f"sqlite:///{path}", backend="sqlite", path=path))
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    return size / episodes, [(name, value / episodes) for name, value in largest]


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__ or "")
    parser.add_argument("--built", type=int, default=2000, help="episodes built by use cases")
    parser.add_argument("--grown", type=int, default=20000, help="episodes after copying")
    args = parser.parse_args(argv)
    if args.quick:
        args.built, args.grown = 300, 3000
    print(machine_line())
    print(f"storage: {args.built:,} episodes through workload 2's use cases, grown to "
          f"{args.grown:,}; each step on top of the previous one (SQLite, after VACUUM)")
    database = fresh_database("sqlite", "storage", None)
    try:
        run_once(database, args.built, "S")
        engine = database.engine()
        bulk.grow(engine, args.grown, log=lambda line: print(line, file=sys.stderr))
        engine.dispose()
        assert database.path is not None
        copy = database.path.with_name(database.path.stem + "-variant.db")
        shutil.copy(database.path, copy)
        for label, sql in STEPS:
            conn = sqlite3.connect(copy)
            conn.executescript(sql)
            conn.commit()
            conn.close()
            size, tables = bytes_per_episode(copy)
            print(f"  {label:<66} {size:7,.0f} bytes/episode")
            print("      " + ", ".join(f"{name} {value:,.0f}" for name, value in tables))
        copy.unlink()
    finally:
        database.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
