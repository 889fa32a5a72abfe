"""Pathway: the core of the vertebral compression fracture care-pathway tracker.

This package owns the pathway definitions, the state machine, due-date rules, the storage
models, repositories and use cases. It never imports the edges (`api`, `scheduler`) or their
frameworks (FastAPI, Starlette, APScheduler).
"""
