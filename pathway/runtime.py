"""What an edge process holds: settings, an engine, a session factory, a clock and the KPI
reports it keeps briefly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pathway.clock import utc_now
from pathway.report_cache import ReportCache
from pathway.sessions import SessionPolicy
from pathway.settings import Settings
from pathway.store.db import make_engine, make_sessionmaker


@dataclass
class Runtime:
    """The shared resources of one process; the clock is injectable so tests can move time."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Callable[[], dt.datetime] = field(default=utc_now)
    #: KPI reports kept briefly (`pathway.report_cache`).
    reports: ReportCache = field(init=False)

    def __post_init__(self) -> None:
        self.reports = ReportCache(self.settings.kpi_report_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """Open an engine for the configured database."""
        engine = make_engine(settings.database_url)
        return cls(settings=settings, engine=engine, sessions=make_sessionmaker(engine))

    @property
    def session_policy(self) -> SessionPolicy:
        """How long dashboard sessions last, as the settings ask."""
        return SessionPolicy(idle=dt.timedelta(minutes=self.settings.session_idle_minutes),
                             absolute=dt.timedelta(hours=self.settings.session_hours))

    def now(self) -> dt.datetime:
        """The current time according to this runtime's clock."""
        return self.clock()
