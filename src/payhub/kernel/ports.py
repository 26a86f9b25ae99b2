"""Protocols for everything with a side effect. Services depend on these; adapters implement them."""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from payhub.kernel.domain.devices import DeviceKind, DeviceStatus
from payhub.kernel.domain.jobs import Job, JobOutcome, JobType, ParkedJob
from payhub.kernel.domain.ledger import AccountLine, AccountSpec, JournalEntry, LedgerAccount
from payhub.kernel.domain.ledger_batch import AccountState, Postings
from payhub.kernel.domain.fulfilment import Outcome
from payhub.kernel.domain.orders import Order, RecoveryPolicy
from payhub.kernel.domain.receipts import ItemLines
from payhub.kernel.domain.refunds import Refund
from payhub.kernel.domain.sign_in_throttle import Event, Purpose, SignInRules, Tally
from payhub.kernel.domain.tenancy import Merchant, NonceUse, Operator, OperatorSession, StaffNames, Terminal
from payhub.kernel.domain.transitions import Transition
from payhub.kernel.domain.payments import Capability, CloseResult, NativeQr, PayResult, RefundResult


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
    supports: frozenset[Capability]

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

    def notify_trade_no(self, *, body: bytes) -> str:
        """The out_trade_no a payment notify names, read before anything in it is trusted.

        Raises SignatureInvalid for a body that is not a readable notify."""
        ...

    def parse_notify(self, *, body: bytes, merchant: str) -> PayResult:
        """A payment notify verified with `merchant`'s own channel account: its key and its channel merchant id.

        Raises SignatureInvalid for a bad signature, another merchant's notify or bad XML."""
        ...

    async def bill(self, *, merchant: str, bill_date: date, bill_type: str = "ALL") -> str:
        """The channel's statement file for one day (for reconciliation)."""
        ...


class ChannelUnavailable(Exception):
    """The channel did not answer a call whose failure changes nothing (e.g. asking for a QR)."""


class ChannelRefused(Exception):
    """The channel explicitly refused a call whose failure changes nothing."""

    def __init__(self, err_code: str, message: str | None) -> None:
        super().__init__(f"{err_code}: {message}")
        self.err_code = err_code
        self.message = message


class Registry(Protocol):
    """Looks up the payment channels by name, and knows which billers a merchant may name."""

    def channel(self, name: str) -> PaymentChannel: ...

    def has_biller(self, name: str) -> bool: ...



class Fulfiller(Protocol):
    """One fulfilment kind (biller_posting, retail, ...): registered by its feature in bootstrap."""

    kind: str
    recovery: RecoveryPolicy
    retry_tries: int  # fulfilments in all under RETRY_THEN_MANUAL

    async def fulfil(self, *, order: Order) -> Outcome:
        """Deliver what was bought; idempotent by the order no. Never raises for an unclear outcome."""
        ...

    async def query(self, *, order: Order) -> Outcome:
        """What became of an earlier fulfil (NOT_FOUND if it never arrived)."""
        ...

    async def undo(self, *, order: Order, refund: Refund) -> Outcome:
        """Take back the refund's amount at the far system before the money goes back; idempotent by refund."""
        ...

    def payable(self, *, order: Order) -> AccountSpec:
        """The ledger account that owes the fulfilled order's money onward (to the biller, to the shop)."""
        ...

    def receipt_lines(self, *, order: Order, locale: str) -> ItemLines:
        """What was bought, for the payment and refund receipts."""
        ...


class Fulfillers(Protocol):
    """The registered fulfilment kinds."""

    def of(self, kind: str) -> Fulfiller: ...

    def __contains__(self, kind: object) -> bool: ...


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


@dataclass(frozen=True)
class OrderView:
    """An order with its refunds (by seq) and the recorded moves of both (the order's first, then each refund's)."""

    order: Order
    refunds: list[Refund]
    history: list[Transition]


class OrderRepository(Protocol):
    async def add(self, order: Order) -> None:
        """Insert a new order (fails with Conflict on a duplicate terminal order no.)."""
        ...

    async def get(self, *, order_no: str) -> Order | None: ...

    async def by_terminal_order_no(self, *, terminal_id: int, terminal_order_no: str) -> Order | None: ...

    async def save(self, order: Order) -> None:
        """Guarded update (expected state and version) plus the recorded transitions; StaleState if moved."""
        ...

    async def expired_unpaid(self, *, now: datetime, limit: int) -> list[str]:
        """The numbers of created orders whose time to be paid is up by now, the longest expired first."""
        ...

    async def search(self, *, filters: OrderFilter, limit: int, offset: int) -> list[Order]: ...

    async def totals(self, *, filters: OrderFilter) -> tuple[int, int]:
        """How many orders match the filters and the sum of their amounts in fen."""
        ...

    async def history(self, *, key: str) -> list[Transition]: ...

    async def view(self, *, order_no: str) -> OrderView | None:
        """The order with its refunds and history, in one statement."""
        ...

    async def count_by_state(self) -> dict[str, int]: ...

    async def paid_between(self, *, merchant_id: int, operator_id: int, start: datetime, end: datetime) -> list[Order]:
        """The operator's orders paid in [start, end), for the end-of-shift summary."""
        ...

    async def claim_receipt_original(self, *, order_id: int, terminal_id: int, at: datetime) -> bool:
        """Record the first print of the order's payment receipt; False when it was printed before (a copy)."""
        ...


class RefundRepository(Protocol):
    async def add(self, refund: Refund, *, terminal_id: int | None = None, request_no: str | None = None,
                  request_hash: str | None = None) -> None: ...

    async def get(self, *, refund_no: str) -> Refund | None: ...

    async def by_request(self, *, terminal_id: int, request_no: str) -> tuple[Refund, str] | None:
        """A terminal's earlier refund request and its content hash."""
        ...

    async def for_order(self, *, order_id: int) -> list[Refund]: ...

    async def of_operator_between(self, *, merchant_id: int, operator_id: int, start: datetime,
                                  end: datetime) -> list[Refund]:
        """Refunds asked in [start, end) by the operator, or made automatically for the operator's orders."""
        ...

    async def save(self, refund: Refund) -> None: ...


class JobRepository(Protocol):
    async def enqueue(self, *, merchant_id: int, kind: JobType, ref: str, run_at: datetime) -> None:
        """Write a job in the current transaction; a pending job of the same kind and ref is moved to run_at."""
        ...

    async def claim(self, *, now: datetime, lease_until: datetime, limit: int) -> list[Job]:
        """Take due jobs (and jobs whose lease ran out) so that no other worker takes them."""
        ...

    async def drop_pending(self, *, kind: JobType, ref: str, now: datetime) -> None:
        """Mark a pending job done unrun, as its work became needless (a running one finishes on its own)."""
        ...

    async def hand_over(self, *, merchant_id: int, ref: str, dropping: JobType, kind: JobType, run_at: datetime) -> None:
        """drop_pending(dropping) and enqueue(kind) for the same ref, in one statement where the database can."""
        ...

    async def finish(self, *, job: Job, outcome: JobOutcome, now: datetime) -> bool:
        """Record the outcome if the job is still this claim's; False if someone else owns it now."""
        ...

    async def queue_stats(self, *, now: datetime) -> tuple[int, float]:
        """Pending-or-running jobs and the age in seconds of the oldest one that is due."""
        ...

    async def parked(self, *, limit: int) -> list[ParkedJob]: ...


class LedgerRepository(Protocol):
    """The journal. Every write locks the touched accounts in id order, applies entries with
    `ledger_batch.Postings` (the one place legs are built) and writes balances, legs and entries."""

    async def book(self, *, entry: JournalEntry, at: datetime) -> bool:
        """Post an entry unless its (merchant, kind, ref) was booked before; False then."""
        ...

    async def post(self, *, entry: JournalEntry, at: datetime) -> dict[str, int]:
        """Post an entry whose idempotency the caller holds; each account's new balance by code.

        A non-negative account that would go below zero: Conflict INSUFFICIENT_BALANCE, nothing written.
        """
        ...

    async def lock_accounts(self, *, merchant_id: int, specs: set[AccountSpec], at: datetime) -> dict[str, AccountState]:
        """Lock the accounts (opened if new) in id order in one statement; their states by code."""
        ...

    async def write_postings(self, *, postings: Postings, at: datetime) -> None:
        """Write what Postings applied to accounts locked by lock_accounts: balances, legs and entries."""
        ...

    async def open_account(self, *, merchant_id: int, spec: AccountSpec, at: datetime) -> None:
        """Open an account unless it exists."""
        ...

    async def account_id(self, *, merchant_id: int, spec: AccountSpec, at: datetime) -> int:
        """The id of an account, opened if new."""
        ...

    async def balance(self, *, merchant_id: int, account: str) -> LedgerAccount:
        """An account with its balance and version; NotFound if it was never opened."""
        ...

    async def accounts(self, *, merchant_id: int) -> list[LedgerAccount]:
        """Every account of a merchant, by code."""
        ...

    async def entries(self, *, merchant_id: int, account: str, limit: int) -> list[AccountLine]:
        """An account's latest legs with their entries, newest first (balances before and after, version)."""
        ...


class TenancyRepository(Protocol):
    async def add_merchant(self, *, code: str, name: str, channel: str, biller: str, at: datetime) -> Merchant: ...

    async def merchant(self, *, merchant_id: int | None = None, code: str | None = None) -> Merchant | None: ...

    async def set_service_phone(self, *, merchant_id: int, phone: str, at: datetime) -> None: ...

    async def names(self, *, merchant_id: int) -> StaffNames:
        """Every operator's and terminal's name by id, for lists and receipts."""
        ...

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

    async def session(self, *, token_hash: str) -> OperatorSession | None: ...

    async def revoke_session(self, *, token_hash: str, at: datetime) -> None: ...

    async def use_nonce(self, *, merchant_id: int, terminal_id: int, nonce: str, at: datetime) -> bool:
        """Record a request nonce; False if the terminal used it before."""
        ...

    async def use_nonces(self, *, uses: Sequence[NonceUse]) -> list[bool]:
        """Record several nonces at once (one statement on PostgreSQL); for each, False if its terminal used it
        before (also earlier in uses)."""
        ...

    async def forget_nonces(self, *, before: datetime) -> int: ...

    async def count_sign_in(self, *, merchant_id: int, subject: str, at: datetime, rules: SignInRules) -> Tally:
        """Count one password try on a counter (in one statement, so parallel tries all count); unless it is locked."""
        ...

    async def uncount_sign_in(self, *, merchant_id: int, subject: str) -> None:
        """Take back a counted try that was let in or never checked."""
        ...

    async def clear_sign_in(self, *, merchant_id: int, subject: str) -> None:
        """Forget the failures and lockouts in a row (the right password was given)."""
        ...

    async def lock_sign_in(self, *, merchant_id: int, subject: str, at: datetime,
                           rules: SignInRules) -> tuple[datetime, bool]:
        """Lock the counter unless it is locked already; the end of the lock and whether this call started it."""
        ...

    async def record_sign_in(self, *, merchant_id: int, terminal_id: int, username: str, purpose: Purpose,
                             event: Event, at: datetime, subject: str | None = None,
                             locked_until: datetime | None = None) -> None:
        """Add a line to the sign-in audit."""
        ...

    async def forget_sign_in_counters(self, *, before: datetime) -> int:
        """Delete counters untouched since before and not locked since."""
        ...

    async def forget_sign_in_audit(self, *, before: datetime) -> int:
        """Delete the sign-in audit's rows older than before."""
        ...


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
    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> UnitOfWork:
        """A unit of work; read_only ones may read a replica; autocommit ones (and read-only ones) send each
        statement on its own on PostgreSQL and need commit() only for SQLite."""
        ...


class SmsGateway(Protocol):
    """Sends verification codes to members' phones."""

    async def send_code(self, *, phone: str, code: str) -> None:
        """Hand one code to the SMS provider (its approved template words the message); raises SmsRefused when
        the provider says no, SmsUnavailable when it could not be asked or did not answer."""
        ...


class SmsUnavailable(Exception):
    """The SMS provider did not take the message, or did not answer in time (then it may still arrive)."""


class SmsRefusal(StrEnum):
    RATE_LIMITED = "rate_limited"   # too many messages to this number for now
    BAD_NUMBER = "bad_number"       # the provider cannot send to this number
    OTHER = "other"                 # the hub's account, signature, template or balance: an operator must look


class SmsRefused(SmsUnavailable):
    """The SMS provider answered no; `vendor_code` is its own error code."""

    def __init__(self, *, reason: SmsRefusal, vendor_code: str, message: str) -> None:
        super().__init__(f"{vendor_code}: {message}")
        self.reason = reason
        self.vendor_code = vendor_code


class Notifier(Protocol):
    """Delivers signed event pushes to a URL an issuer configured."""

    async def push(self, *, url: str, secret: str, event_id: str, body: bytes) -> int:
        """POST body with the event id and an HMAC-SHA256 signature; the HTTP status, or raises PushFailed."""
        ...

    async def check_url(self, *, url: str) -> None:
        """Refuse (InvalidInput) a URL pushes may not go to: not HTTPS outside demo mode, or a private address."""
        ...


class PushFailed(Exception):
    """The receiver could not be reached (connection refused, timeout)."""


class CardKeyService(Protocol):
    """Card keys kept in a key store (加密机, HSM): per-card keys derived inside it, never leaving it."""

    def card_mac(self, *, card_no: str, data: bytes) -> str:
        """A MAC over data under the card's derived key (hex), for card write-back and checks."""
        ...

    def verify_card_mac(self, *, card_no: str, data: bytes, mac: str) -> bool: ...


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


class OrderWatch(Protocol):
    """A waiter's subscription to one order's signals, taken before it looks, so none is missed meanwhile."""

    # after next_signal returned True: the highest version the signals it took were published with as moving on
    # (see OrderSignals.publish); None if any of them was a plain signal
    moving_on_at: int | None

    async def next_signal(self, *, timeout: float) -> bool:
        """True once a signal came since the last return (at once if one already did); False after timeout s."""
        ...


class OrderSignals(Protocol):
    """Wakes whoever waits on an order (long-poll, server-sent events) when it changes."""

    def publish(self, order_no: str, *, moving_on_at: int | None = None) -> None:
        """Signal a change; moving_on_at: the order's version after a move to a state the hub moves on from by
        itself (MOVING_ON_STATES), so that a waiter answering only settled states may wait on without looking."""
        ...

    def watch(self, order_no: str) -> AbstractContextManager[OrderWatch]:
        """Signals of the order from now until the block ends."""
        ...


class JobWakeups(Protocol):
    """Tells an idle worker that a job became due somewhere (the worker still polls, as a fallback)."""

    def jobs_due(self) -> None:
        """A transaction that made a job due has committed: wake the workers, this process's at once."""
        ...

    async def wait_for_jobs(self, *, timeout: float) -> None:
        """Return when a job may be due, or after timeout seconds."""
        ...


# --- terminal devices (owned by the terminal agent) -----------------------------------------------


class Device(Protocol):
    """A device on the counter PC. A card reader (PC/SC), cash acceptor (serial) or PIN pad is another kind."""

    kind: DeviceKind
    name: str

    async def status(self) -> DeviceStatus:
        """The device's state now; never raises (an unreachable device is OFFLINE)."""
        ...


class ReceiptPrinter(Device, Protocol):
    async def print(self, data: bytes) -> None:
        """Send one rendered job; raises DeviceUnavailable (PRINTER_OFFLINE, PAPER_OUT, PRINTER_ERROR) if not printed."""
        ...
