"""`bench.storage` runs every step of its estimate, and each step leaves a smaller database."""

from __future__ import annotations

import re

import pytest

from bench import storage


def test_every_step_runs_and_saves_space(capsys: pytest.CaptureFixture[str]) -> None:
    assert storage.main(["--quick"]) == 0
    out = capsys.readouterr().out
    sizes = [int(n.replace(",", "")) for n in re.findall(r"\s([\d,]+) bytes/episode", out)]
    assert len(sizes) == len(storage.STEPS)
    assert all(later < earlier for earlier, later in zip(sizes, sizes[1:], strict=False))
