"""`python -m scheduler`: the same process as `pathway scheduler`, without importing the rest
of the command line (the API and its framework), so it starts faster and uses less memory."""

from __future__ import annotations

from pathway.runtime import Runtime
from pathway.settings import get_settings
from scheduler.process import configure_logging, run_blocking


def main() -> int:
    """Run the scheduler until SIGTERM or Ctrl-C."""
    settings = get_settings()
    configure_logging(settings)
    run_blocking(Runtime.from_settings(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
