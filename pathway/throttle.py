"""The login throttle, decided: after `per_pair` failed logins for one user name from one
client address, that pair waits until the oldest failure leaves the `window`; after
`per_address` failures from one address (any user names, looser: a ward's computers may share
an address), that address waits. A user is never locked out by failures from elsewhere: the
user name alone is not a key. The failures are kept in the database
(`pathway.store.login_failures`), so every API process counts the same ones."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy.orm import Session

from pathway.store import login_failures


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures each key is allowed within the window."""

    per_pair: int = 5
    per_address: int = 30
    window: dt.timedelta = dt.timedelta(minutes=15)


def _keys(username: str, address: str) -> tuple[str, str]:
    return f"user:{username.lower()}@{address}", f"addr:{address}"


def retry_after(db: Session, *, username: str, address: str, now: dt.datetime,
                policy: ThrottlePolicy) -> int:
    """Seconds until a login for `username` from `address` may be tried; 0: it may now."""
    pair, addr = _keys(username, address)
    found = login_failures.recent(db, (pair, addr), now - policy.window)
    waits = [(oldest + policy.window - now).total_seconds()
             for key, limit in ((pair, policy.per_pair), (addr, policy.per_address))
             if key in found
             for count, oldest in [found[key]] if count >= limit]
    return max(1, math.ceil(max(waits))) if waits else 0


def failed(db: Session, *, username: str, address: str, now: dt.datetime) -> None:
    """Count a failed login against the pair and the address."""
    login_failures.add(db, _keys(username, address), now)


def succeeded(db: Session, *, username: str, address: str) -> None:
    """Forget the pair's failures after a good login (the address's stay counted)."""
    login_failures.forget(db, _keys(username, address)[0])


def purge(db: Session, *, now: dt.datetime, policy: ThrottlePolicy) -> int:
    """Forget failures that no longer count."""
    return login_failures.purge(db, now - policy.window)
