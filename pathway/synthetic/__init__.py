"""Synthetic cohorts, apart from the clinical core: demo data (`demo.py`), a year of a
pathway version for a synthetic cohort (`simulate.py`, with its draws in `cohort.py`). They
drive the same use cases an edge does; nothing clinical depends on them."""
