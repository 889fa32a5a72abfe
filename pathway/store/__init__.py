"""The room that remembers: the only place in the product with SQL.

`sql.py` runs statements built once on the connection of the session's transaction;
`episodes.py` loads episode snapshots and applies the rules' `Changes`; the other modules
serve the reads and writes the use cases and edges need.
"""
