"""How a terminal signs each request: HMAC-SHA256 over method, path, timestamp, nonce and the body's hash."""
from __future__ import annotations

import hashlib
import hmac

HEADER_TERMINAL = "X-PayHub-Terminal"
HEADER_TIMESTAMP = "X-PayHub-Timestamp"
HEADER_NONCE = "X-PayHub-Nonce"
HEADER_SIGNATURE = "X-PayHub-Signature"


def string_to_sign(*, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The canonical text a terminal signs; path includes the query string as sent."""
    return "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


def sign(*, key: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The hex signature of a request."""
    message = string_to_sign(method=method, path=path, timestamp=timestamp, nonce=nonce, body=body)
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def matches(*, key: str, signature: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bool:
    """True if signature is the request's signature under key (constant-time compare)."""
    expected = sign(key=key, method=method, path=path, timestamp=timestamp, nonce=nonce, body=body)
    return hmac.compare_digest(expected, signature.lower())
