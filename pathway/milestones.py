"""An episode's milestones for the read views (the rules that open and close them are
`pathway.rules`)."""

from __future__ import annotations

from pathway.store.reads import all_milestones, open_milestones

__all__ = ["all_milestones", "open_milestones"]
