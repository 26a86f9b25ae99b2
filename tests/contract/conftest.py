"""Every PaymentChannel connector wired in-process to its sandbox.

A new channel joins the shared suite (test_payment_channel.py) with one entry in CHANNELS: an async
context manager yielding a ChannelUnderTest.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, partial

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from payhub.adapters.swiftpass import wire
from payhub.adapters.swiftpass.billfile import PAID, parse_bill
from payhub.adapters.swiftpass.client import SwiftPassChannel
from payhub.adapters.swiftpass.sandbox import Fault, SandboxAccount, SandboxRefusal, Scenario, SwiftPassSandbox
from payhub.config import SwiftPassAccount, SwiftPassSettings
from payhub.ports import PaymentChannel

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


CHANNELS: dict[str, Callable[[], AbstractAsyncContextManager[ChannelUnderTest]]] = {
    "swiftpass-md5": partial(swiftpass_under_test, sign_type="MD5"),
    "swiftpass-rsa256": partial(swiftpass_under_test, sign_type="RSA_1_256"),
}


@pytest.fixture(params=sorted(CHANNELS))
async def under_test(request: pytest.FixtureRequest) -> AsyncIterator[ChannelUnderTest]:
    """Each registered channel in turn."""
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
