"""The fault suite's ledger: what each category tried and checked, for the summary table.

Tests add to their category's entry through the `ledger` fixture; the conftest counts failed
tests per category and prints the table at the end of the run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

#: The category of each test module (the issue's headings).
CATEGORIES: dict[str, str] = {
    "test_database_restart": "database restart",
    "test_process_kills": "process kills",
    "test_races": "races",
    "test_hostile_input": "hostile input",
    "test_fuzz": "fuzzing",
    "test_access": "access",
    "test_time": "time",
}


@dataclass
class Entry:
    """One category's figures: cases tried, tests run and failed, data checked."""

    cases: int = 0
    tests: int = 0
    failures: int = 0
    checked: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def tried(self, n: int = 1) -> None:
        """Count `n` cases (requests, generated inputs, kills, scans...)."""
        self.cases += n

    def check(self, what: str, n: int = 1) -> None:
        """Count `n` items of data verified (rows, episodes, reminders, headers...)."""
        self.checked[what] += n

    def note(self, text: str) -> None:
        """A figure worth showing under the table (a rate, an outage length)."""
        self.notes.append(text)


@dataclass
class Ledger:
    """Every category's entry, in the order of `CATEGORIES`."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def entry(self, category: str) -> Entry:
        return self.entries.setdefault(category, Entry())

    def table(self) -> list[str]:
        """The summary as text lines."""
        order = [c for c in CATEGORIES.values() if c in self.entries]
        order += [c for c in self.entries if c not in order]
        lines = [f"{'category':<17}{'tests':>6}{'failed':>7}{'cases':>9}  data checked",
                 "-" * 78]
        for name in order:
            e = self.entries[name]
            checked = ", ".join(f"{k} {v}" for k, v in sorted(e.checked.items())) or "-"
            lines.append(f"{name:<17}{e.tests:>6}{e.failures:>7}{e.cases:>9}  {checked}")
        total = self.entries.values()
        lines.append("-" * 78)
        lines.append(f"{'total':<17}{sum(e.tests for e in total):>6}"
                     f"{sum(e.failures for e in total):>7}{sum(e.cases for e in total):>9}")
        for name in order:
            lines.extend(f"  {name}: {note}" for note in self.entries[name].notes)
        return lines
