"""The scheduler's scan over all episodes: set-based, a batch of due milestones in a few
statements (`pathway.store.scan`, built from the rules' `scan_plan`)."""

from __future__ import annotations

from pathway.store.due import ScanResult
from pathway.store.scan import raise_all_due, raise_due_in_bulk

__all__ = ["ScanResult", "raise_all_due", "raise_due_in_bulk"]
