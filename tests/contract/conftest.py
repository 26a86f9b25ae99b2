"""Every PaymentChannel connector wired in-process to its sandbox.

A new channel joins the shared suite (test_payment_channel.py) with one entry in CHANNELS: an async
context manager yielding a ChannelUnderTest.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
import dataclasses
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, partial
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from payhub.cards.adapters.channel import CardChannel
from payhub.kernel.adapters.db.migrate import upgrade
from payhub.integrations.swiftpass import wire
from payhub.integrations.swiftpass.billfile import PAID, parse_bill
from payhub.integrations.swiftpass.client import SwiftPassChannel
from payhub.integrations.swiftpass.sandbox import Fault, SandboxAccount, SandboxRefusal, Scenario, SwiftPassSandbox
from payhub.bootstrap import build, card_operations
from payhub.config import Settings, SwiftPassAccount, SwiftPassSettings
from payhub.cards.domain.money import Funding, TxChannel
from payhub.cards.domain.cards import luhn_digit
from payhub.kernel.ports import PaymentChannel, UnitOfWork
from payhub.kernel.services import admin
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import limits as card_limits
from payhub.cards.services import money as card_money
from tests.support.cards import open_active_card
from tests.contract.stores import store  # noqa: F401  (the fixture of the repository contract suites)
from tests.unit.fakes import PlainHasher

START = datetime(2024, 5, 20, 2, 0, tzinfo=UTC)  # 10:00 in China
NOTIFY_URL = "http://hub.test/notify"
MD5_KEY = "sandbox-md5-key-0123456789abcdef"
MCH_ID = "105510000001"
MERCHANT = "shop-1"
WECHAT_CODE = "134567890123456700"  # ends in 00: selects no scenario


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    moment: datetime = START

    def now(self) -> datetime:
        """The current fake time."""
        return self.moment

    def advance(self, *, seconds: float) -> None:
        """Move the clock forward."""
        self.moment += timedelta(seconds=seconds)


@dataclass
class NotifyInbox:
    """Stands in for the hub's notify endpoint: keeps every body, answers from `replies`, then `success`."""

    bodies: list[bytes] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Record one notify and answer it."""
        self.bodies.append(request.content)
        return httpx.Response(200, text=self.replies.pop(0) if self.replies else "success")


@dataclass(frozen=True)
class BillLine:
    """A statement line in channel-neutral words."""

    out_trade_no: str
    is_refund: bool
    fen: int


@dataclass
class ChannelUnderTest:
    """What the shared suite needs from one channel: the connector and the handles of its sandbox."""

    channel: PaymentChannel
    offline: PaymentChannel                     # the same connector on a network that never answers
    merchant: str
    payment_code: str                           # a plain, successful payment code
    amounts: Mapping[str, int]                  # scenario name (see SCENARIO_NAMES) -> total_fee selecting it
    clock: FakeClock
    inbox: NotifyInbox
    pay_qr: Callable[[str], bool]               # the customer pays a QR; False when the sandbox refuses
    deliver_notifies: Callable[[], Awaitable[int]]
    spoil_next: Callable[[str, str], None]      # (operation, fault "system_error" | "bad_signature")
    read_bill: Callable[[str], list[BillLine]]


SCENARIO_NAMES = {
    "declined": Scenario.DECLINED, "insufficient_funds": Scenario.INSUFFICIENT_FUNDS,
    "system_error": Scenario.SYSTEM_ERROR, "slow": Scenario.SLOW,
    "user_paying_then_paid": Scenario.USER_PAYING_THEN_PAID, "user_paying_forever": Scenario.USER_PAYING_FOREVER,
    "refund_fails": Scenario.REFUND_FAILS, "refund_processing": Scenario.REFUND_PROCESSING,
    "notify_chaos": Scenario.NOTIFY_CHAOS,
}
_SWIFTPASS_SERVICES = {
    "micropay": wire.SERVICE_MICROPAY, "native": wire.SERVICE_NATIVE, "query": wire.SERVICE_QUERY,
    "close": wire.SERVICE_CLOSE, "reverse": wire.SERVICE_REVERSE, "refund": wire.SERVICE_REFUND,
    "refund_query": wire.SERVICE_REFUND_QUERY,
}


@cache
def rsa_pem_pair(name: str) -> tuple[str, str]:
    """A (private, public) PEM pair, generated once per name and test session."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode()
    return private, public


def swiftpass_accounts(*, sign_type: wire.SignType) -> tuple[SwiftPassAccount, SandboxAccount]:
    """The hub's and the sandbox's view of one merchant signing with `sign_type`."""
    if sign_type == "MD5":
        return (SwiftPassAccount(mch_id=MCH_ID, key=MD5_KEY), SandboxAccount(sign_type="MD5", key=MD5_KEY))
    merchant_private, merchant_public = rsa_pem_pair("merchant")
    platform_private, platform_public = rsa_pem_pair("platform")
    return (
        SwiftPassAccount(mch_id=MCH_ID, sign_type=sign_type, private_key_pem=merchant_private,
                         platform_public_key_pem=platform_public),
        SandboxAccount(sign_type=sign_type, merchant_public_key_pem=merchant_public,
                       platform_private_key_pem=platform_private),
    )


@dataclass
class SwiftPassRig:
    """A SwiftPass connector talking to its sandbox in-process, with the sandbox's handles."""

    sandbox: SwiftPassSandbox
    channel: SwiftPassChannel
    settings: SwiftPassSettings
    clock: FakeClock
    inbox: NotifyInbox


@asynccontextmanager
async def swiftpass_rig(*, sign_type: wire.SignType = "MD5") -> AsyncIterator[SwiftPassRig]:
    """A sandbox with one merchant, its notifies going to an inbox, and a connector routed to it."""
    hub_account, sandbox_account = swiftpass_accounts(sign_type=sign_type)
    clock, inbox = FakeClock(), NotifyInbox()
    async with httpx.AsyncClient(transport=httpx.MockTransport(inbox.handle)) as notify_http:
        sandbox = SwiftPassSandbox(
            accounts={MCH_ID: sandbox_account}, notify_http=notify_http, now=clock.now,
            notify_delays=(0, 2, 5, 15), slow_seconds=5.0, public_url="http://sandbox.test",
        )
        settings = SwiftPassSettings(base_url="http://sandbox.test", timeout_seconds=0.3,
                                     accounts={MERCHANT: hub_account})
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)) as http:
            yield SwiftPassRig(sandbox=sandbox, channel=SwiftPassChannel(settings=settings, http=http),
                               settings=settings, clock=clock, inbox=inbox)


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("no route to the channel", request=request)


def _swiftpass_bill_lines(text: str) -> list[BillLine]:
    return [BillLine(out_trade_no=row.out_trade_no, is_refund=row.state != PAID,
                     fen=row.refund_fee if row.state != PAID else row.total_fee)
            for row in parse_bill(text=text)]


@asynccontextmanager
async def swiftpass_under_test(*, sign_type: wire.SignType) -> AsyncIterator[ChannelUnderTest]:
    """SwiftPass in the shared suite."""
    async with swiftpass_rig(sign_type=sign_type) as rig, \
            httpx.AsyncClient(transport=httpx.MockTransport(_unreachable)) as dead_http:
        sandbox = rig.sandbox

        def pay_qr(out_trade_no: str) -> bool:
            try:
                sandbox.pay_native(out_trade_no)
            except SandboxRefusal:
                return False
            return True

        def spoil_next(operation: str, fault: str) -> None:
            sandbox.fail_next(service=_SWIFTPASS_SERVICES[operation], fault=Fault(fault))

        yield ChannelUnderTest(
            channel=rig.channel, offline=SwiftPassChannel(settings=rig.settings, http=dead_http),
            merchant=MERCHANT, payment_code=WECHAT_CODE,
            amounts={name: 1200 + int(scenario) for name, scenario in SCENARIO_NAMES.items()} | {"plain": 1200},
            clock=rig.clock, inbox=rig.inbox, pay_qr=pay_qr, deliver_notifies=sandbox.deliver_due_notifies,
            spoil_next=spoil_next, read_bill=_swiftpass_bill_lines,
        )


CARD_NO = "8800000000000" + luhn_digit("8800000000000")
CARD_PASSWORD = "135790"
_NO_QR = "cards are presented at the counter: the card channel has no QR trades"
_SANDBOX_ONLY = "a fault only the SwiftPass sandbox can stage; the card system answers in-process"
CARD_SKIPS = {
    "test_refused_code_fails_with_the_reason": (
        "a refused card consume rolls back whole, so a query answers NOT_FOUND (tests/cards/test_card_channel.py)"),
    "test_system_error_is_unknown_to_query_at_once_and_the_query_finds_it_paid": _SANDBOX_ONLY,
    "test_slow_answer_is_unknown_and_the_trade_went_through": _SANDBOX_ONLY,
    "test_user_paying_is_pending_until_a_later_query_finds_it_paid": _SANDBOX_ONLY,
    "test_user_paying_forever_is_reversed_and_then_closed": _SANDBOX_ONLY,
    "test_reverse_asked_to_retry_says_retry_and_the_retry_closes": _SANDBOX_ONLY,
    "test_answer_with_a_bad_signature_is_not_trusted": _SANDBOX_ONLY,
    "test_failing_refund_fails_every_time": _SANDBOX_ONLY,
    "test_processing_refund_succeeds_on_a_later_query": _SANDBOX_ONLY,
    "test_refund_with_a_system_error_is_unknown": _SANDBOX_ONLY,
    "test_qr_scanned_and_paid_is_notified_and_queried_paid": _NO_QR,
    "test_qr_scan_declined_leaves_the_trade_failed": _NO_QR,
    "test_qr_without_a_clear_answer_is_unavailable_and_a_resend_gets_it": _NO_QR,
    "test_qr_for_a_used_order_number_is_refused": _NO_QR,
    "test_qr_without_network_is_unavailable": _NO_QR,
    "test_closed_qr_cannot_be_paid": _NO_QR,
    "test_closing_a_paid_qr_says_already_paid": _NO_QR,
    "test_close_with_a_system_error_is_unknown": _NO_QR,
    "test_duplicate_and_stale_notifies_never_unpay_a_paid_trade": _NO_QR,
    "test_refund_of_an_unpaid_trade_is_refused": _NO_QR,
    "test_statement_lists_the_days_payments_and_refunds": (
        _NO_QR + " (its unpaid trade is a QR); the card statement is tested in tests/cards/test_card_channel.py"),
}


class _DatabaseAway:
    """A unit-of-work factory whose database never answers."""

    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> UnitOfWork:
        raise ConnectionError("the card database does not answer")


@cache
def _migrated_sqlite() -> Path:
    path = Path(tempfile.mkdtemp(prefix="payhub-card-channel-")) / "template.sqlite3"
    upgrade(url=f"sqlite+aiosqlite:///{path}")
    return path


def card_bill_lines(text: str) -> list[BillLine]:
    """A card statement in channel-neutral words; a refund line names its payment through the original tx no."""
    rows = [line.split(",") for line in text.splitlines()[1:]]
    paid = {row[2]: row[4] for row in rows if row[1] == "PAY"}
    return [BillLine(out_trade_no=row[4] if row[1] == "PAY" else paid.get(row[3], ""), is_refund=row[1] == "REFUND",
                     fen=int(row[5])) for row in rows]


@asynccontextmanager
async def card_under_test() -> AsyncIterator[ChannelUnderTest]:
    """The stored-value card channel: a hub on a fresh SQLite database, merchant shop-1 issuing one card of 300 yuan."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cards.sqlite3"
        shutil.copy(_migrated_sqlite(), path)
        clock = FakeClock()
        container = build(Settings(demo=True, database_url=f"sqlite+aiosqlite:///{path}"), clock=clock)
        hub = dataclasses.replace(container.hub, passwords=PlainHasher())
        try:
            issuer = await admin.create_merchant(hub=hub, code=MERCHANT, name="储值卡商户", channel="card")
            await card_lifecycle.add_card_merchant(hub=hub, merchant_id=issuer.id, code=MERCHANT, name="柜台")
            await card_limits.set_limit(hub=hub, merchant_id=issuer.id, subject="card:*", per_txn=50_000,
                                        per_day=10_000_000)
            await open_active_card(hub=hub, merchant_id=issuer.id, card_no=CARD_NO, phone="13900000000",
                                   pay_password=CARD_PASSWORD)
            await card_money.recharge(hub=hub, merchant_id=issuer.id, merchant_code=MERCHANT, card_no=CARD_NO,
                                      out_trade_no="LOAD1", amount=30_000, funding=Funding.CASH,
                                      channel=TxChannel.OFFLINE)

            async def no_notifies() -> int:
                return 0

            def no_faults(operation: str, fault: str) -> None:
                raise AssertionError("the card channel has no sandbox to spoil")

            yield ChannelUnderTest(
                channel=CardChannel(operations=card_operations(hub)),
                offline=CardChannel(operations=card_operations(dataclasses.replace(hub, uow=_DatabaseAway()))),
                merchant=MERCHANT, payment_code=f"{CARD_NO}={CARD_PASSWORD}",
                amounts={"plain": 1200, "insufficient_funds": 40_000, "declined": 60_000},  # declined: over per_txn
                clock=clock, inbox=NotifyInbox(), pay_qr=lambda _no: False, deliver_notifies=no_notifies,
                spoil_next=no_faults, read_bill=card_bill_lines,
            )
        finally:
            await container.close()


CHANNELS: dict[str, Callable[[], AbstractAsyncContextManager[ChannelUnderTest]]] = {
    "swiftpass-md5": partial(swiftpass_under_test, sign_type="MD5"),
    "swiftpass-rsa256": partial(swiftpass_under_test, sign_type="RSA_1_256"),
    "card": card_under_test,
}
SKIPS: dict[str, Mapping[str, str]] = {"card": CARD_SKIPS}  # channel -> test name -> why it does not apply


@pytest.fixture(params=sorted(CHANNELS))
async def under_test(request: pytest.FixtureRequest) -> AsyncIterator[ChannelUnderTest]:
    """Each registered channel in turn; a case the channel cannot have is skipped with the channel's reason."""
    if reason := SKIPS.get(request.param, {}).get(request.node.originalname):
        pytest.skip(reason)
    async with CHANNELS[request.param]() as subject:
        yield subject


@pytest.fixture
async def swiftpass() -> AsyncIterator[SwiftPassRig]:
    """SwiftPass with an MD5 merchant, for tests of its own rules."""
    async with swiftpass_rig() as rig:
        yield rig


def today(clock: FakeClock) -> date:
    """The clock's calendar day in China, the day statements are cut by."""
    return clock.now().astimezone(wire.CHINA).date()
