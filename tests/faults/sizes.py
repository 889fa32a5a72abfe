"""Sizes of the fault suite: bounded for CI by default, larger with PATHWAY_SOAK=1."""

from __future__ import annotations

import os
from typing import TypeVar

SOAK = os.environ.get("PATHWAY_SOAK") == "1"
T = TypeVar("T")


def sized(default: T, soak: T) -> T:
    """`soak` under `make soak`, else `default`."""
    return soak if SOAK else default
