"""Log lines nobody can forge: every logged value escaped and bounded, on every handler.

A value logged with `%s` may come from a client: a path, a header, a key's name, an
exception's message. Written raw, a CR or LF in it starts a line of the client's choosing (a
genuine-looking `ERROR` line, say), and a long one floods the log. `EscapedValues`, a filter on
the handlers the process writes its log with (`protect`, called by `pathway serve` and the
scheduler once they have configured logging), rewrites each record before any handler formats
it, whichever logger made it:

- each argument is escaped and cut to `MAX_VALUE_CHARS` (an ellipsis marks the cut); numbers
  stay numbers, so `%d` and `%.1f` still work;
- the message itself is escaped too (it may have been built with an f-string), and so are the
  exception and stack text (their frames are kept whole, on one line);
- escaping turns a backslash into `\\\\`, CR, LF and TAB into `\\r`, `\\n`, `\\t`, and every
  other C0 or C1 control character, DEL and the Unicode line and paragraph separators into
  `\\xNN` or `\\uNNNN`: a record's message is then one line, and an escaped newline cannot be
  told apart from one a client typed as two characters only because backslashes are escaped.
"""

from __future__ import annotations

import logging
import numbers
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: The longest a logged value may be, ellipsis included.
MAX_VALUE_CHARS = 200
ELLIPSIS = "…"

_UNSAFE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", "\t": "\\t"}
_plain = logging.Formatter()


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escaped(text: str) -> str:
    """`text` with backslashes and every control or line-breaking character escaped."""
    return _UNSAFE.sub(_escape_one, text)


def bounded(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """`text` cut to `limit` characters, the last one an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def safe_value(value: object) -> object:
    """A logged argument as it may appear in a line: numbers as they are, anything else as
    its text, escaped and bounded."""
    if isinstance(value, numbers.Number):
        return value
    return bounded(escaped(str(value)))


def _safe_args(args: Any) -> Any:
    if isinstance(args, Mapping):
        return {key: safe_value(item) for key, item in args.items()}
    if isinstance(args, tuple):
        return tuple(safe_value(item) for item in args)
    return args


class EscapedValues(logging.Filter):
    """Escape and bound every value of a record (module docstring); never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "pathway_escaped", False):
            return True  # a record reaching a second protected handler
        if isinstance(record.msg, str):
            record.msg = escaped(record.msg)
        else:
            record.msg = safe_value(record.msg)
        record.args = _safe_args(record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = _plain.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = escaped(record.exc_text)
        if record.stack_info:
            record.stack_info = escaped(record.stack_info)
        record.pathway_escaped = True
        return True


def protect(handlers: Iterable[logging.Handler]) -> None:
    """Give each handler the `EscapedValues` filter (once)."""
    for handler in handlers:
        if not any(isinstance(f, EscapedValues) for f in handler.filters):
            handler.addFilter(EscapedValues())


def protect_root() -> None:
    """Protect every handler of the root logger, which every logger propagates to."""
    protect(logging.getLogger().handlers)
