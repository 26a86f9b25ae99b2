"""How a terminal signs each request: HMAC-SHA256 over method, raw path and query, timestamp, nonce and the body's hash."""
from __future__ import annotations

import hashlib
import hmac
import re

HEADER_TERMINAL = "X-PayHub-Terminal"
HEADER_TIMESTAMP = "X-PayHub-Timestamp"
HEADER_NONCE = "X-PayHub-Nonce"
HEADER_SIGNATURE = "X-PayHub-Signature"

TIMESTAMP = re.compile(r"[0-9]{1,12}")    # unix seconds, ASCII digits only ("+1", " 1", "1_0" and other digits are not)
NONCE = re.compile(r"[!-~]{1,64}")        # visible ASCII: it is stored, and NUL or other bytes must not reach the database
SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
TERMINAL_CODE = re.compile(r"[^\x00-\x1f\x7f]{1,32}")


def string_to_sign(*, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The canonical text a terminal signs; path is the raw path and query string exactly as sent (still
    percent-encoded, never decoded or normalised by the server)."""
    return "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


def sign(*, key: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The hex signature of a request."""
    message = string_to_sign(method=method, path=path, timestamp=timestamp, nonce=nonce, body=body)
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def matches(*, key: str, signature: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bool:
    """True if signature is the request's signature under key (constant-time compare); False for any malformed one."""
    if not SIGNATURE.fullmatch(signature):
        return False
    expected = sign(key=key, method=method, path=path, timestamp=timestamp, nonce=nonce, body=body)
    return hmac.compare_digest(expected.encode(), signature.lower().encode())
