"""The password rule: at least 12 characters, and strong by zxcvbn's estimate (the maintained
port of Dropbox's estimator: dictionaries, keyboard patterns, dates, l33t and repeats), with
the user's own name and user name counted as known words. A refusal says why, in zxcvbn's own
words, so that the person choosing can do better."""

from __future__ import annotations

from collections.abc import Iterable

from zxcvbn import zxcvbn

from pathway.errors import InvalidData

MIN_LENGTH = 12
#: zxcvbn's scores run 0-4; 3 is "safely unguessable: moderate protection from offline
#: slow-hash scenario" (about 10^10 guesses), which argon2 hashes make an offline attack.
MIN_SCORE = 3
#: zxcvbn's cost grows with the length; a password manager's 64 random characters is plenty.
MAX_LENGTH = 256


def password_problem(password: str, *, known: Iterable[str | None] = ()) -> str | None:
    """Why `password` may not be used (for the field's error), or None if it may."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    words = [w for w in known if w]
    verdict = zxcvbn(password, user_inputs=words)
    if verdict["score"] >= MIN_SCORE:
        return None
    feedback = verdict["feedback"]
    hints = [feedback.get("warning") or "", *feedback.get("suggestions", [])]
    why = " ".join(h.rstrip(".") + "." for h in hints if h)
    return f"is too easy to guess{': ' + why if why else ''} A few unrelated words work well."


def check_password(password: str, *, known: Iterable[str | None] = ()) -> None:
    """Refuse a password that breaks the rule (`InvalidData` on the `password` field)."""
    problem = password_problem(password, known=known)
    if problem is not None:
        raise InvalidData("password", problem)
