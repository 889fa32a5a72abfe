"""The webhook channel: signed JSON POSTs following Standard Webhooks, sent with httpx.

Headers: `webhook-id` (the delivery's stable key: receivers drop duplicates by it),
`webhook-timestamp` (seconds since the epoch, at the attempt) and `webhook-signature`
(`v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`). A subscription secret written
the Standard Webhooks way (`whsec_` + base64) is used as the decoded bytes; any other secret
as its UTF-8 bytes, so both kinds verify with the usual libraries.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from pathway.deliveries import Outcome, OutcomeKind, Outgoing

#: Connect quickly or give up; a slow receiver gets 10 s to answer.
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
SECRET_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key of a subscription secret."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
        except binascii.Error:
            pass
    return secret.encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def encode_body(payload: dict[str, Any]) -> bytes:
    """The JSON body: compact and key-sorted, so a retry sends the same bytes."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(secret: str, msg_id: str, now: dt.datetime, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers for one attempt at `now`."""
    timestamp = int(now.timestamp())
    return {
        "content-type": "application/json",
        "user-agent": "pathway-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


class WebhookSender:
    """Posts leased webhook messages over one httpx client (connections are reused)."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def send(self, item: Outgoing, now: dt.datetime) -> Outcome:
        """POST one message; 2xx is delivered, 410 Gone rejected, anything else retried."""
        if item.url is None or item.secret is None:
            return Outcome(item.id, OutcomeKind.REJECTED, "webhook without a subscription")
        body = encode_body(item.payload)
        headers = signed_headers(item.secret, item.key, now, body)
        started = time.monotonic()
        try:
            response = self._client.post(item.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(item.id, OutcomeKind.FAILED, f"{type(exc).__name__}: {exc}"[:300])
        code = response.status_code
        took = f"HTTP {code} in {(time.monotonic() - started) * 1000:.0f} ms"
        if response.is_success:
            return Outcome(item.id, OutcomeKind.DELIVERED, took, code)
        if code == 410:
            return Outcome(item.id, OutcomeKind.REJECTED, took + " (gone)", code)
        return Outcome(item.id, OutcomeKind.FAILED, took, code)
