"""`pathway simulate`: run a synthetic cohort through a year of one or two pathway versions.

Each version runs in its own throwaway SQLite database (in a temporary directory), so the
configured database is only read, for the stored versions. `--pathway-version N` (a stored
version) or `--compare-file FILE` (a definition not stored anywhere) runs the same cohort, with
the same seed, on a second version and prints both side by side.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from pathway.definition import (
    LATEST_BUILTIN,
    PathwayDefinition,
    builtin_definition,
    parse_definition,
)
from pathway.errors import InvalidData, NotFound
from pathway.settings import Settings
from pathway.store.db import make_engine, make_sessionmaker, transaction
from pathway.store.versions import current_version, load_definition
from pathway.synthetic.cohort import Cohort, Delays, Outcomes
from pathway.synthetic.simulate import SimulationResult, side_by_side, simulate
from pathway_cli.schema import upgrade

BAR = 30


def add_parser(sub: Any) -> None:
    """Register `pathway simulate` on the command's subparsers."""
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate", help="run a synthetic cohort through a year of a pathway version",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=500, help="cohort size (default 500)")
    p.add_argument("--arrivals-per-day", type=float, default=4.0)
    p.add_argument("--days", type=int, default=365, help="simulated days (default 365)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--version", type=int, help="the version to simulate (default: current)")
    p.add_argument("--pathway-version", type=int, help="also run on this stored version")
    p.add_argument("--compare-file", help="also run on the definition in this JSON file")
    p.add_argument("--outcome", action="append", default=[], metavar="NAME=P",
                   help="set a probability, e.g. resolved_at_reassessment=0.5 "
                        f"({', '.join(f.name for f in dataclasses.fields(Outcomes))})")
    p.add_argument("--delay", action="append", default=[], metavar="NAME=DAYS",
                   help="set a mean delay in days after the due day, e.g. reassessment=14 "
                        f"({', '.join(f.name for f in dataclasses.fields(Delays))})")
    p.set_defaults(func=cmd_simulate)


def _overrides(pairs: list[str], kind: type[Any], what: str) -> Any:
    known = {f.name for f in dataclasses.fields(kind)}
    values: dict[str, float] = {}
    for pair in pairs:
        name, _, raw = pair.partition("=")
        if name not in known:
            raise InvalidData(what, f"unknown name {name!r}; use one of {', '.join(sorted(known))}")
        try:
            values[name] = float(raw)
        except ValueError as exc:
            raise InvalidData(what, f"{name} needs a number, got {raw!r}") from exc
    return kind(**values)


def cohort_from(args: argparse.Namespace) -> Cohort:
    """The cohort the command line describes."""
    if args.episodes < 1 or args.days < 1 or args.arrivals_per_day <= 0:
        raise InvalidData("cohort", "episodes, days and arrivals per day must be positive")
    return Cohort(episodes=args.episodes, arrivals_per_day=args.arrivals_per_day,
                  days=args.days, seed=args.seed,
                  outcomes=_overrides(args.outcome, Outcomes, "outcome"),
                  delays=_overrides(args.delay, Delays, "delay"))


def definitions(args: argparse.Namespace, settings: Settings) -> list[PathwayDefinition]:
    """The versions to run: the base one, then the one to compare with, if any."""
    chosen: list[PathwayDefinition] = []
    try:
        with transaction(make_sessionmaker(make_engine(settings.database_url))) as session:
            chosen.append(load_definition(session, args.version or current_version(session)))
            if args.pathway_version is not None:
                chosen.append(load_definition(session, args.pathway_version))
    except (SQLAlchemyError, NotFound):
        if args.version not in (None, LATEST_BUILTIN) or args.pathway_version is not None:
            raise
        print("note: the configured database has no pathway versions; simulating the built-in "
              f"version {LATEST_BUILTIN}", file=sys.stderr)
        chosen = [builtin_definition(LATEST_BUILTIN)]
    if args.compare_file:
        chosen.append(parse_definition(json.loads(Path(args.compare_file).read_text())))
    return chosen


def _progress(version: int) -> Any:
    shown = {"done": -1}
    tty = sys.stderr.isatty()

    def show(day: int, days: int) -> None:
        done = BAR * day // days
        if not tty and done == shown["done"] and day < days:
            return  # off a terminal, redraw only when the bar grows
        shown["done"] = done
        print(f"\r  version {version} [{'#' * done}{'.' * (BAR - done)}] day {day}/{days}",
              end="" if day < days else "\n", file=sys.stderr, flush=True)
    return show


def run_one(cohort: Cohort, definition: PathwayDefinition, settings: Settings
            ) -> SimulationResult:
    """Simulate one version in a throwaway database."""
    with tempfile.TemporaryDirectory(prefix="pathway-simulate-") as folder:
        url = f"sqlite:///{Path(folder) / 'simulation.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            return simulate(make_sessionmaker(engine), cohort=cohort, definition=definition,
                            zone=settings.zone, progress=_progress(definition.version))
        finally:
            engine.dispose()


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    cohort = cohort_from(args)
    chosen = definitions(args, settings)
    print(f"simulating {cohort.episodes} episodes arriving at {cohort.arrivals_per_day}/day "
          f"over {cohort.days} days (seed {cohort.seed}) on version(s) "
          f"{', '.join(str(d.version) for d in chosen)}", file=sys.stderr)
    results = [run_one(cohort, definition, settings) for definition in chosen]
    print(side_by_side(results))
    return 0
