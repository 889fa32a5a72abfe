"""The domain's errors: a small hierarchy the edges map to their own responses in one place."""

from __future__ import annotations

from collections.abc import Sequence


class PathwayError(Exception):
    """Base of every domain error."""


class NotFound(PathwayError):
    """The thing asked for does not exist."""

    def __init__(self, what: str, ident: object) -> None:
        self.what = what
        self.ident = ident
        super().__init__(f"{what} {ident} not found")


class InvalidData(PathwayError):
    """Input that breaks a rule: names the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class TransitionRefused(PathwayError):
    """An event that the current state does not allow, or whose guard fails."""

    def __init__(
        self, event: str, state: str, allowed: Sequence[str], reason: str | None = None
    ) -> None:
        self.event = event
        self.state = state
        self.allowed = list(allowed)
        self.reason = reason
        because = f" ({reason})" if reason else ""
        super().__init__(
            f"{event} is not allowed in state {state}{because}; allowed: "
            f"{', '.join(self.allowed) or 'none'}"
        )


class Conflict(PathwayError):
    """Someone else changed the episode first (optimistic concurrency)."""


class PreconditionFailed(PathwayError):
    """The caller's expected version (If-Match) is not the episode's version."""

    def __init__(self, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"expected version {expected}, episode is at version {actual}")


class Duplicate(PathwayError):
    """A unique thing (an MRN, a user name, a key name) already exists."""

    def __init__(self, what: str, ident: object) -> None:
        self.what = what
        self.ident = ident
        super().__init__(f"{what} {ident} already exists")


class ActionRefused(PathwayError):
    """An action that the thing's current status does not allow (e.g. snoozing a resolved
    reminder): nothing changes."""

    def __init__(self, action: str, what: str, status: str, reason: str) -> None:
        self.action = action
        self.what = what
        self.status = status
        self.reason = reason
        super().__init__(f"cannot {action} {what} in status {status}: {reason}")


class IdentityMismatch(PathwayError):
    """An intake names a known MRN with other demographics than stored: nothing changes
    (demographics change only through an explicit, audited update)."""

    def __init__(self, mrn: str, fields: Sequence[str]) -> None:
        self.mrn = mrn
        self.fields = list(fields)
        super().__init__(
            f"patient {mrn} is stored with a different {' and '.join(self.fields)}; "
            "correct the intake (stored demographics change only by an explicit, audited update)")


class DuplicateEpisode(PathwayError):
    """The same fracture opened twice: the patient has an open episode with the same day 0
    and a shared level."""

    def __init__(self, existing_id: int, levels: Sequence[str]) -> None:
        self.existing_id = existing_id
        self.levels = list(levels)
        super().__init__(
            f"episode {existing_id} is already open for this fracture (same day 0, "
            f"level {', '.join(self.levels)})")
