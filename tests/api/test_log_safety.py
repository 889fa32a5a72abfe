"""Logs nobody can forge (issue 17): a client's CR, LF or patient identifier in a path never
reaches a log line raw, whichever logger writes it (`pathway.logs`, `api.middleware`)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from api.server import LOG_FORMAT
from pathway.logs import MAX_VALUE_CHARS, EscapedValues, escaped, protect, protect_root
from tests.api.support import ApiHarness

FORGED = "2026-12-01 21:00:00,000 ERROR pathway.api forged"
LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ ")
IDENTIFIER = "SMITH%20John%20MRN0042"
HOSTILE_PATHS = [
    f"/v1/episodes/1%0D%0A{FORGED.replace(' ', '%20')}",
    f"/v1/episodes/1%0A{FORGED.replace(' ', '%20')}/fhir",
    f"/v1/episodes/{IDENTIFIER}",
    f"/v1/episodes/{IDENTIFIER}/fhir",
    f"/v1/episodes/{IDENTIFIER}/events",
    f"/v1/reminders/{IDENTIFIER}",
    f"/v1/nowhere/{IDENTIFIER}%0A{FORGED.replace(' ', '%20')}",
]


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """What the process's log handlers write, as `pathway serve` configures them."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root, client = logging.getLogger(), logging.getLogger("httpx")
    level, client_level = root.level, client.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    client.setLevel(logging.WARNING)  # the test's own client logs the URL it asked for
    protect_root()
    try:
        yield buffer
    finally:
        root.setLevel(level)
        client.setLevel(client_level)
        root.removeHandler(handler)
        for other in root.handlers:
            for found in [f for f in other.filters if isinstance(f, EscapedValues)]:
                other.removeFilter(found)


def assert_unforged(text: str) -> None:
    assert text, "nothing was logged"
    assert "\r" not in text
    for line in text.splitlines():
        assert LINE.match(line), f"a line the app did not start: {line!r}"
        assert not line.startswith(FORGED)
    assert "SMITH" not in text and "MRN0042" not in text


@pytest.mark.parametrize("path", HOSTILE_PATHS)
@pytest.mark.parametrize("role", [None, "admin"])
def test_a_path_cannot_forge_a_line_or_log_an_identifier(
    api: ApiHarness, log_text: io.StringIO, path: str, role: str | None,
) -> None:
    headers = api.auth(role) if role else {}
    method = api.client.post if path.endswith("/events") else api.client.get
    response = method(path, headers=headers)
    assert response.status_code in {401, 404, 405, 422}, response.text
    assert_unforged(log_text.getvalue())
    if "nowhere" not in path:
        assert "/v1/episodes/{episode_id}" in log_text.getvalue() or \
            "/v1/reminders/{reminder_id}" in log_text.getvalue()


def test_the_id_of_a_request_that_succeeded_is_logged(
    api: ApiHarness, log_text: io.StringIO,
) -> None:
    episode = api.open()["id"]
    assert api.client.get(f"/v1/episodes/{episode}", headers=api.auth()).status_code == 200
    assert "GET /v1/episodes/{episode_id} 200" in log_text.getvalue()
    assert f"episode_id={episode}" in log_text.getvalue()


def _record(msg: object, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("pathway.api", logging.ERROR, __file__, 1, msg, args, info)


def _written(record: logging.LogRecord) -> str:
    assert EscapedValues().filter(record)
    return logging.Formatter(LOG_FORMAT).format(record)


def test_every_value_is_escaped_and_bounded() -> None:
    line = _written(_record("%s took %.1fms (%d rows) %s", "a\r\nb\tc\\d\x1b\x85\u2028",
                            1.25, 3, "x" * 1000))
    assert "a\\r\\nb\\tc\\\\d\\x1b\\x85\\u2028 took 1.2ms (3 rows) " in line
    assert line.endswith("x" * (MAX_VALUE_CHARS - 1) + "…")
    assert len(line.splitlines()) == 1
    mapped = _written(_record("%(who)s", {"who": "me\nyou"}))
    assert mapped.endswith("me\\nyou")


def test_a_message_built_by_hand_and_an_exception_stay_on_their_lines() -> None:
    assert _written(_record(f"opened by {FORGED}\n{FORGED}")).count("\n") == 0
    try:
        raise ValueError(f"bad input\n{FORGED}")
    except ValueError as error:
        line = _written(_record("failed", exc=error))
    message, exception = line.split("\n")  # the formatter's own break, then one line
    assert message.endswith("failed")
    assert exception.startswith("Traceback (most recent call last):\\n")
    assert f"ValueError: bad input\\n{FORGED}" in exception


def test_protecting_twice_escapes_once() -> None:
    first, second = logging.StreamHandler(io.StringIO()), logging.StreamHandler(io.StringIO())
    protect([first, second])
    protect([first])
    assert len(first.filters) == len(second.filters) == 1
    record = _record("%s", "a\nb")
    assert first.filter(record) and second.filter(record)
    assert record.getMessage() == "a\\nb"
    assert escaped("plain text") == "plain text"


def test_any_logger_is_covered(log_text: io.StringIO) -> None:
    logging.getLogger("pathway.scheduler").warning("job %s failed", f"x\n{FORGED}")
    logging.getLogger("some.library").warning(f"from a library\n{FORGED}")
    assert_unforged(log_text.getvalue())
    assert len(log_text.getvalue().splitlines()) == 2
