"""Test doubles that are real: a webhook receiver on loopback, an SMTP server (aiosmtpd),
a movable clock and runtimes bound to the test database."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from collections import Counter
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from pathway.runtime import Runtime
from pathway.settings import Settings
from pathway.store.models import WebhookSubscription
from tests.support.databases import TestDatabase

SECRET = "whsec_" + base64.b64encode(b"a test secret of 24 bytes").decode()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> dt.datetime:
        self.at += dt.timedelta(**delta)
        return self.at


def make_runtime(db: TestDatabase, clock: Clock, **settings: Any) -> Runtime:
    """A runtime on the test database with settings overridden."""
    values: dict[str, Any] = {"database_url": db.url, "delivery_backoff_seconds": 30.0,
                              "delivery_max_attempts": 4, "delivery_lease_seconds": 30}
    values.update(settings)
    return Runtime(settings=Settings(**values), engine=db.engine, sessions=db.sessions,
                   clock=clock)


def subscribe(session: Session, url: str, *, secret: str = SECRET,
              reminder_kinds: list[str] | None = None,
              now: dt.datetime | None = None) -> WebhookSubscription:
    """Store an active webhook subscription (what the API's subscription route does)."""
    sub = WebhookSubscription(url=url, secret=secret, reminder_kinds=reminder_kinds or [],
                              event_names=[], active=True,
                              created_at=now or dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                              created_by="test")
    session.add(sub)
    session.flush()
    return sub


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def verify(secret: str, headers: Any, body: bytes) -> bool:
    """Check a Standard Webhooks signature, written independently of scheduler.webhooks."""
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") \
        else secret.encode()
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    offered = [s.partition(",")[2] for s in headers["webhook-signature"].split()
               if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, s) for s in offered)


class Receiver:
    """A webhook endpoint on loopback that verifies signatures and drops duplicates by
    `webhook-id`, as a well-behaved integration would. `status` sets its answer; it can be
    stopped (connection refused) and started again on the same port."""

    def __init__(self, secret: str = SECRET, port: int | None = None) -> None:
        self.secret = secret
        self.port = port or free_port()
        self.status = 200
        self.fail_every = 0  # answer 500 to every n-th request (0: never)
        self.requests = 0
        self.hits: Counter[str] = Counter()  # deliveries accepted, by webhook-id
        self.bodies: dict[str, dict[str, Any]] = {}
        self.bad_signatures = 0
        self.truncated = 0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def unique(self) -> dict[str, dict[str, Any]]:
        """What the integration acts on: one body per webhook-id."""
        return dict(self.bodies)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender was killed mid-request: nothing arrived to verify or answer.
                    with receiver.lock:
                        receiver.truncated += 1
                    self.close_connection = True
                    return
                with receiver.lock:
                    receiver.requests += 1
                    status = receiver.status
                    if receiver.fail_every and receiver.requests % receiver.fail_every == 0:
                        status = 500
                    if not verify(receiver.secret, self.headers, body):
                        receiver.bad_signatures += 1
                        status = 401
                    elif status < 300:
                        msg_id = self.headers["webhook-id"]
                        receiver.hits[msg_id] += 1
                        receiver.bodies.setdefault(msg_id, json.loads(body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> Receiver:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse:
            return self.refuse
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


class SmtpServer:
    """A real SMTP server on loopback."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
