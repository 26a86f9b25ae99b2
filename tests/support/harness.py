"""The whole hub in one process for end-to-end tests: API, sandboxes, a manual clock, jobs run on demand."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from payhub.kernel.domain.ledger import family_of
from payhub.kernel.adapters.clock import ManualClock
from payhub.integrations.swiftpass.sandbox import SandboxAccount, SwiftPassSandbox
from payhub.integrations.tcis.sandbox import TcisSandbox
from payhub.bootstrap import Container, build
from payhub.config import Settings, SwiftPassAccount, SwiftPassSettings, TcisSettings
from payhub.api.app import create_app
from payhub.entrypoints.terminal_client import TerminalClient
from payhub.kernel.services import admin
from payhub.kernel.services.auth_cache import AuthCache
from payhub.kernel.services.outbox import run_due_jobs

START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in China
MCH_ID = "755437000009"
MD5_KEY = "e2e-swiftpass-key"
TERMINAL_KEY = "e2e-terminal-key"
WECHAT = "134567890123456700"  # no sandbox scenario


def code_for(scenario: int) -> str:
    """A WeChat payment code whose last two digits select a sandbox scenario (91–99)."""
    return f"1345678901234567{scenario:02d}"


class Crash(BaseException):
    """Stands for the process dying: nothing in the hub catches it."""


class HoldableMonotonic:
    """The monotonic clock, which a test can stop for a while: what auth remembers then stays fresh however slow
    the machine."""

    def __init__(self) -> None:
        self._held: float | None = None

    def __call__(self) -> float:
        return time.monotonic() if self._held is None else self._held

    @contextmanager
    def held(self) -> Iterator[None]:
        self._held = time.monotonic()
        try:
            yield
        finally:
            self._held = None


@dataclass
class CrashSwitch:
    """Makes the next matching outbound call die before or after the far side handled it."""

    match: Callable[[httpx.Request], bool] | None = None
    after: bool = True
    fired: int = 0

    def arm(self, match: Callable[[httpx.Request], bool], *, after: bool = True) -> None:
        self.match, self.after = match, after

    def trip(self, request: httpx.Request, *, after: bool) -> None:
        if self.match is not None and self.after == after and self.match(request):
            self.match = None
            self.fired += 1
            raise Crash(request.url.path)


class CrashingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, switch: CrashSwitch) -> None:
        self._inner, self._switch = inner, switch

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self._switch.trip(request, after=False)
        response = await self._inner.handle_async_request(request)
        self._switch.trip(request, after=True)
        return response


@dataclass
class Harness:
    db_url: str
    clock: ManualClock = field(default_factory=lambda: ManualClock(START))
    crash: CrashSwitch = field(default_factory=CrashSwitch)
    auth_clock: HoldableMonotonic = field(default_factory=HoldableMonotonic)

    def __post_init__(self) -> None:
        self.settings = Settings(
            demo=True, database_url=self.db_url, public_url="http://hub.test",
            swiftpass=SwiftPassSettings(base_url="http://swiftpass.test", timeout_seconds=0.5,
                                        accounts={"M1": SwiftPassAccount(mch_id=MCH_ID, key=MD5_KEY)}),
            tcis=TcisSettings(base_url="http://tcis.test", secret="e2e-tcis-secret", timeout_seconds=0.5),
        )
        self._hub_transport = httpx.ASGITransport(app=None)  # type: ignore[arg-type]
        self.swiftpass = SwiftPassSandbox(
            accounts={MCH_ID: SandboxAccount(sign_type="MD5", key=MD5_KEY)}, now=self.clock.now,
            notify_http=httpx.AsyncClient(transport=self._hub_transport, base_url="http://hub.test"),
            slow_seconds=1.0, public_url="http://swiftpass.test",
        )
        self.tcis = TcisSandbox(app_id="payhub", secret="e2e-tcis-secret", slow_seconds=1.0)  # signs with real time
        self.start()

    def start(self) -> None:
        """Build a hub process (again): new engines, new clients; the database and sandboxes stay."""
        channel_http = httpx.AsyncClient(transport=CrashingTransport(httpx.ASGITransport(app=self.swiftpass.app), self.crash))
        biller_http = httpx.AsyncClient(transport=CrashingTransport(httpx.ASGITransport(app=self.tcis.app), self.crash))
        self.container: Container = build(self.settings, clock=self.clock, channel_http=channel_http, biller_http=biller_http,
                                          auth_cache=AuthCache(clock=self.auth_clock))
        self.container.http_clients += [channel_http, biller_http]
        self.app = create_app(self.container, embedded_worker=False)
        self._hub_transport.app = self.app
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://hub.test")
        self.terminal = TerminalClient(http=self.http, terminal="T1", key=TERMINAL_KEY, clock=self.clock)

    async def restart(self) -> None:
        """The process died and comes back: its in-memory state is gone, leases must run out."""
        await self.stop()
        self.start()
        self.clock.advance(seconds=self.settings.timings.job_lease_seconds + 1)
        await self.terminal.login("op1", "op1-pass")

    async def stop(self) -> None:
        await self.http.aclose()
        await self.container.close()

    @property
    def hub(self):  # type: ignore[no-untyped-def]
        return self.container.hub

    async def seed(self) -> None:
        await admin.create_merchant(hub=self.hub, code="M1", name="测试燃气公司")
        await admin.create_terminal(hub=self.hub, merchant_code="M1", code="T1", name="1号柜台", key=TERMINAL_KEY)
        await admin.create_operator(hub=self.hub, merchant_code="M1", username="op1", display_name="柜员一",
                                    role="operator", password="op1-pass")
        await admin.create_operator(hub=self.hub, merchant_code="M1", username="sup1", display_name="主管一",
                                    role="supervisor", password="sup1-pass")
        await self.terminal.login("op1", "op1-pass")

    async def run_jobs(self, *, rounds: int = 20) -> None:
        """Run due jobs and deliver due notifies until nothing is left to do now."""
        for _ in range(rounds):
            delivered = await self.swiftpass.deliver_due_notifies()
            ran = await run_due_jobs(hub=self.hub)
            if not ran and not delivered:
                return

    async def settle(self, *, seconds: float = 0, steps: int = 1) -> None:
        """Let time pass in steps, running whatever falls due."""
        await self.run_jobs()
        for _ in range(steps):
            self.clock.advance(seconds=seconds / steps)
            await self.run_jobs()

    async def call(self, method: str, path: str, body: dict | None = None, params: dict | None = None,
                   status: int | None = 200) -> dict:
        response = await self.terminal.request(method, path, body=body, params=params)
        if status is not None:
            assert response.status_code == status, response.text
        return response.json() if response.content else {}

    async def order(self, order_no: str) -> dict:
        return await self.call("GET", f"/api/v1/orders/{order_no}")

    async def place(self, *, fee_type: str = "gas", account_no: str = "10010001", amount: int | None = None,
                    bill_ids: list[str] | None = None, out_trade_no: str | None = None) -> dict:
        if amount is None:
            arrears = await self.call("GET", "/api/v1/arrears", params={"fee_type": fee_type, "account_no": account_no})
            amount = arrears["total_due"]
        body = {"out_trade_no": out_trade_no or uuid.uuid4().hex[:16], "fee_type": fee_type,
                "account_no": account_no, "amount": amount, "bill_ids": bill_ids or []}
        return await self.call("POST", "/api/v1/orders", body, status=201)

    async def balances(self) -> dict[str, int]:
        """Each account's balance, its sub-accounts (shards) added up."""
        async with self.hub.uow(read_only=True) as uow:
            merchant = await uow.tenancy.merchant(code="M1")
            accounts = await uow.ledger.accounts(merchant_id=merchant.id)
        totals: dict[str, int] = {}
        for account in accounts:
            totals[family_of(account.code)] = totals.get(family_of(account.code), 0) + account.balance
        return totals
