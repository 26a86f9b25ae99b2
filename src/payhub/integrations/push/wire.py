"""The push wire format: a JSON body POSTed with its event id and an HMAC-SHA256 signature.

    X-PayHub-Event-Id:   the event id (receivers dedupe on it: a push may arrive more than once)
    X-PayHub-Timestamp:  unix seconds of this attempt
    X-PayHub-Signature:  hex HMAC-SHA256(secret, TIMESTAMP + "." + EVENT_ID + "." + BODY)
"""
from __future__ import annotations

import hashlib
import hmac

HEADER_EVENT = "X-PayHub-Event-Id"
HEADER_TIMESTAMP = "X-PayHub-Timestamp"
HEADER_SIGNATURE = "X-PayHub-Signature"
WINDOW_SECONDS = 300


def sign(*, secret: str, timestamp: str, event_id: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + event_id.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(*, secret: str, timestamp: str, event_id: str, body: bytes, signature: str, now: float) -> bool:
    """True for a correct signature made within the window."""
    try:
        fresh = abs(now - int(timestamp)) <= WINDOW_SECONDS
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret=secret, timestamp=timestamp, event_id=event_id, body=body), signature)
