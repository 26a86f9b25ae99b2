"""What the counter needs from the far systems that hold bills (its public face to other packages)."""
from __future__ import annotations

from typing import Protocol

from payhub.counter.domain.billing import Arrears, PostingRequest, PostingResult
from payhub.counter.domain.fees import FeeType


class Biller(Protocol):
    """A billing system that holds customers' bills (TCIS; later the electricity card-meter backend)."""

    name: str

    async def query_arrears(self, *, account_no: str, fee_type: FeeType) -> Arrears:
        """The customer's unpaid bills. Raises BillerAccountUnknown or BillerUnavailable."""
        ...

    async def post_payment(self, *, request: PostingRequest) -> PostingResult:
        """Book a paid order; idempotent by posting_no. Never raises for an unclear outcome."""
        ...

    async def query_posting(self, *, posting_no: str) -> PostingResult:
        """The posting's current state."""
        ...

    async def reverse_posting(self, *, posting_no: str, reversal_no: str, amount: int, reason: str) -> PostingResult:
        """Take back part or all of a posting; idempotent by reversal_no."""
        ...


class BillerUnavailable(Exception):
    """The biller did not answer a read."""


class BillerAccountUnknown(Exception):
    """The biller has no such account."""

    def __init__(self, account_no: str) -> None:
        super().__init__(account_no)
        self.account_no = account_no


class Billers(Protocol):
    """Looks up a biller by the name its merchants give."""

    def biller(self, name: str) -> Biller: ...
