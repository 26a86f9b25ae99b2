"""Protocols for everything with a side effect. Services depend on these; adapters implement them."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from payhub.domain.billing import Arrears, PostingRequest, PostingResult
from payhub.domain.fees import FeeType
from payhub.domain.jobs import Job, JobKind, JobOutcome
from payhub.domain.ledger import AccountSpec, JournalEntry
from payhub.domain.orders import BillOrder
from payhub.domain.refunds import Refund
from payhub.domain.tenancy import Merchant, Operator, Terminal
from payhub.domain.transitions import Transition
from payhub.domain.payments import CloseResult, NativeQr, PayResult, RefundResult

JsonDict = dict[str, Any]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SignatureInvalid(Exception):
    """A far system's message failed its signature check; it must not be trusted."""


class PaymentChannel(Protocol):
    """An aggregated payment channel (SwiftPass; later the bank's MPAY). One call per operation.

    `merchant` is the hub's merchant code; the adapter finds that merchant's channel credentials.
    Every method maps the far side's answer to the hub's statuses and never raises for an unclear
    outcome: a timeout or system error comes back as UNKNOWN so that the caller queries.
    """

    name: str

    async def micropay(
        self, *, merchant: str, out_trade_no: str, total_fee: int, body: str, auth_code: str,
        client_ip: str, device_info: str | None = None, op_user_id: str | None = None,
    ) -> PayResult:
        """Charge a payment code the terminal scanned."""
        ...

    async def native(
        self, *, merchant: str, out_trade_no: str, total_fee: int, body: str, notify_url: str,
        client_ip: str, time_expire: datetime | None = None,
    ) -> NativeQr:
        """Ask for a collection QR the customer scans. Raises ChannelUnavailable or ChannelRefused."""
        ...

    async def query(self, *, merchant: str, out_trade_no: str) -> PayResult:
        """The trade's current state."""
        ...

    async def close(self, *, merchant: str, out_trade_no: str) -> CloseResult:
        """Close an unpaid QR trade so that it can no longer be paid."""
        ...

    async def reverse(self, *, merchant: str, out_trade_no: str) -> CloseResult:
        """Reverse a payment-code trade (refunds it if it was paid meanwhile)."""
        ...

    async def refund(
        self, *, merchant: str, out_trade_no: str, out_refund_no: str, total_fee: int, refund_fee: int,
        op_user_id: str,
    ) -> RefundResult:
        """Refund part or all of a paid trade; the same out_refund_no refunds once only."""
        ...

    async def refund_query(self, *, merchant: str, out_refund_no: str) -> RefundResult:
        """The refund's current state."""
        ...

    def parse_notify(self, *, body: bytes) -> PayResult:
        """A verified payment notify. Raises SignatureInvalid for a bad signature or bad XML."""
        ...

    async def bill(self, *, merchant: str, bill_date: date, bill_type: str = "ALL") -> str:
        """The channel's statement file for one day (for reconciliation)."""
        ...


class ChannelUnavailable(Exception):
    """The channel did not answer a call whose failure changes nothing (e.g. asking for a QR)."""


class ChannelRefused(Exception):
    """The channel explicitly refused a call whose failure changes nothing."""

    def __init__(self, err_code: str, message: str) -> None:
        super().__init__(f"{err_code}: {message}")
        self.err_code = err_code
        self.message = message


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


class Registry(Protocol):
    """Looks up the channel and biller adapters by name."""

    def channel(self, name: str) -> PaymentChannel: ...

    def biller(self, name: str) -> Biller: ...



# --- storage -------------------------------------------------------------------------------------


class OrderFilter(Protocol):
    merchant_id: int
    terminal_id: int | None
    operator_id: int | None
    states: Sequence[str]
    fee_type: str | None
    account_no: str | None
    created_from: datetime | None
    created_to: datetime | None


class OrderRepository(Protocol):
    async def add(self, order: BillOrder) -> None:
        """Insert a new order (fails with Conflict on a duplicate terminal order no.)."""
        ...

    async def get(self, *, order_no: str) -> BillOrder | None: ...

    async def by_terminal_order_no(self, *, terminal_id: int, terminal_order_no: str) -> BillOrder | None: ...

    async def save(self, order: BillOrder) -> None:
        """Guarded update (expected state and version) plus the recorded transitions; StaleState if moved."""
        ...

    async def search(self, *, filters: OrderFilter, limit: int, offset: int) -> list[BillOrder]: ...

    async def history(self, *, key: str) -> list[Transition]: ...

    async def count_by_state(self) -> dict[str, int]: ...


class RefundRepository(Protocol):
    async def add(self, refund: Refund, *, terminal_id: int | None = None, request_no: str | None = None,
                  request_hash: str | None = None) -> None: ...

    async def get(self, *, refund_no: str) -> Refund | None: ...

    async def by_request(self, *, terminal_id: int, request_no: str) -> tuple[Refund, str] | None:
        """A terminal's earlier refund request and its content hash."""
        ...

    async def for_order(self, *, order_id: int) -> list[Refund]: ...

    async def save(self, refund: Refund) -> None: ...


class JobRepository(Protocol):
    async def enqueue(self, *, merchant_id: int, kind: JobKind, ref: str, run_at: datetime) -> None:
        """Write a job in the current transaction; a pending job of the same kind and ref is moved to run_at."""
        ...

    async def claim(self, *, now: datetime, lease_until: datetime, limit: int) -> list[Job]:
        """Take due jobs (and jobs whose lease ran out) so that no other worker takes them."""
        ...

    async def finish(self, *, job: Job, outcome: JobOutcome, now: datetime) -> bool:
        """Record the outcome if the job is still this claim's; False if someone else owns it now."""
        ...

    async def queue_stats(self, *, now: datetime) -> tuple[int, float]:
        """Pending-or-running jobs and the age in seconds of the oldest one that is due."""
        ...

    async def parked(self, *, limit: int) -> list[JsonDict]: ...


class LedgerRepository(Protocol):
    async def book(self, *, entry: JournalEntry, at: datetime) -> bool:
        """Book an entry (accounts locked in id order); False if this kind and ref was booked before."""
        ...

    async def balance(self, *, merchant_id: int, account: str) -> JsonDict: ...

    async def accounts(self, *, merchant_id: int) -> list[JsonDict]: ...

    async def entries(self, *, merchant_id: int, account: str, limit: int) -> list[JsonDict]: ...

    async def open_account(self, *, merchant_id: int, spec: AccountSpec, at: datetime) -> None: ...


class TenancyRepository(Protocol):
    async def add_merchant(self, *, code: str, name: str, channel: str, biller: str, at: datetime) -> Merchant: ...

    async def merchant(self, *, merchant_id: int | None = None, code: str | None = None) -> Merchant | None: ...

    async def add_terminal(self, *, merchant_id: int, code: str, name: str, key_sealed: str, at: datetime) -> Terminal: ...

    async def terminal(self, *, code: str) -> tuple[Terminal, str] | None:
        """The terminal and its sealed key."""
        ...

    async def add_operator(self, *, merchant_id: int, username: str, display_name: str, role: str,
                           password_hash: str, at: datetime) -> Operator: ...

    async def operator(self, *, merchant_id: int, username: str | None = None,
                       operator_id: int | None = None) -> tuple[Operator, str] | None:
        """The operator and the password hash."""
        ...

    async def set_password_hash(self, *, operator_id: int, password_hash: str, at: datetime) -> None: ...

    async def add_session(self, *, merchant_id: int, operator_id: int, terminal_id: int, token_hash: str,
                          at: datetime, expires_at: datetime) -> None: ...

    async def session(self, *, token_hash: str) -> JsonDict | None: ...

    async def revoke_session(self, *, token_hash: str, at: datetime) -> None: ...

    async def use_nonce(self, *, merchant_id: int, terminal_id: int, nonce: str, at: datetime) -> bool:
        """Record a request nonce; False if the terminal used it before."""
        ...

    async def forget_nonces(self, *, before: datetime) -> int: ...


class UnitOfWork(Protocol):
    """One database transaction; writes are kept only by commit()."""

    orders: OrderRepository
    refunds: RefundRepository
    jobs: JobRepository
    ledger: LedgerRepository
    tenancy: TenancyRepository

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...


# --- other side effects --------------------------------------------------------------------------


class KeySealer(Protocol):
    """Encrypts secrets kept in the database (terminal keys) with the hub's own key."""

    def seal(self, plain: str) -> str: ...

    def unseal(self, sealed: str) -> str: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str | None, password: str) -> bool:
        """False for a wrong password; None (no such user) takes as long as a real check and is False."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class OrderSignals(Protocol):
    """Wakes whoever waits on an order (long-poll, server-sent events) when it changes."""

    def publish(self, order_no: str) -> None: ...

    async def wait(self, order_no: str, *, timeout: float) -> None: ...
