"""The room that decides: the pathway's rules, with no I/O and no SQL.

Given an episode snapshot (plain frozen values, `snapshot.py`) and an event, `decide.py`
returns one `Changes` value (`changes.py`) or raises a refusal that names the state and the
events allowed. The rules read the pathway version (`pathway.definition`, the one table of
milestones, reminder kinds and triggers) through `table.py`; the fracture-care machine and
its guards are `machine.py` and `guards.py`; what falls due and what it raises is
`alerts.py`, the one definition shared by the per-episode path and the bulk scan.
"""
