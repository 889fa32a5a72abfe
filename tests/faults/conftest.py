"""Fixtures of the fault suite and its summary table.

`ledger` gives a test its category's entry; failures are counted per category here and the
table is printed at the end of the run. `PATHWAY_SOAK=1` (`make soak`) scales every size up.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.faults.ledger import CATEGORIES, Entry, Ledger
from tests.faults.processes import Cluster

LEDGER = pytest.StashKey[Ledger]()
_counted = pytest.StashKey[set[str]]()


def _ledger(config: pytest.Config) -> Ledger:
    if LEDGER not in config.stash:
        config.stash[LEDGER] = Ledger()
        config.stash[_counted] = set()
    return config.stash[LEDGER]


def _category(nodeid: str) -> str | None:
    module = Path(nodeid.split("::", 1)[0]).stem
    return CATEGORIES.get(module) if "faults" in nodeid else None


@pytest.fixture
def ledger(request: pytest.FixtureRequest) -> Entry:
    """This test's category entry in the summary table."""
    category = _category(request.node.nodeid) or "other"
    return _ledger(request.config).entry(category)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    category = _category(item.nodeid)
    if category is None:
        return report
    entry = _ledger(item.config).entry(category)
    counted = item.config.stash[_counted]
    if item.nodeid not in counted and (report.when == "call" or report.failed):
        counted.add(item.nodeid)
        entry.tests += 1
    if report.failed and f"failed:{item.nodeid}" not in counted:
        counted.add(f"failed:{item.nodeid}")
        entry.failures += 1
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    ledger = _ledger(terminalreporter.config)
    if not ledger.entries:
        return
    terminalreporter.write_sep("=", "fault, load and hostile-input suite")
    for line in ledger.table():
        terminalreporter.write_line(line)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of this test's own, on a free port; stopped and deleted after."""
    own = Cluster()
    own.start()
    try:
        yield own
    finally:
        own.destroy()
