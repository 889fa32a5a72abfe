"""The `pathway` command line: an edge like api/ and scheduler/, wiring them to the core."""
