"""The error tree every layer raises and the API renders as JSON.

    PayhubError            code + params; the message comes from domain.messages by locale
    ├── InvalidInput       the request itself is wrong (bad amount, unknown fee type)
    ├── Unauthorized       who is asking is unknown (bad signature, replayed nonce, expired session)
    ├── Forbidden          known, but not allowed (role, other merchant's order)
    ├── NotFound           the thing asked for does not exist
    ├── Conflict           the request clashes with state (idempotency mismatch, illegal transition)
    └── Unavailable        a far system did not answer; nothing was changed, try again
        └── Contention     the database chose this transaction as a deadlock or serialization victim
"""
from __future__ import annotations

from typing import Any


class PayhubError(Exception):
    """Base of every error the hub reports to a caller."""

    kind = "error"

    def __init__(self, code: str, /, **params: Any) -> None:  # positional: a param may be called `code` too
        super().__init__(code)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        from payhub.kernel.domain.messages import render

        return render(self.code, "zh", self.params)


class InvalidInput(PayhubError):
    kind = "invalid"


class Unauthorized(PayhubError):
    kind = "unauthorized"


class Forbidden(PayhubError):
    kind = "forbidden"


class NotFound(PayhubError):
    kind = "not_found"


class Conflict(PayhubError):
    kind = "conflict"


class Unavailable(PayhubError):
    kind = "unavailable"


class Contention(Unavailable):
    """Rolled back by the database to break a deadlock or a serialization conflict: safe to run again."""

    def __init__(self) -> None:
        super().__init__("CONTENTION")


class IllegalTransition(Conflict):
    """A state machine refused a move; carries what was asked."""

    def __init__(self, aggregate: str, current: str, target: str) -> None:
        super().__init__("ILLEGAL_TRANSITION", aggregate=aggregate, current=current, target=target)


class StaleState(Conflict):
    """The guarded update found the row in another state: someone else moved it first."""

    def __init__(self, aggregate: str, key: str) -> None:
        super().__init__("STALE_STATE", aggregate=aggregate, key=key)
