"""The embedded demo: one process with the hub, its worker, both sandboxes and a seeded merchant."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from pydantic import SecretStr

from payhub.kernel.adapters.db.migrate import upgrade
from payhub.integrations.swiftpass.sandbox import SandboxAccount, SwiftPassSandbox
from payhub.integrations.tcis.sandbox import TcisSandbox
from payhub.integrations.push.sandbox import PushReceiver
from payhub.integrations.sms.sandbox import (
    DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, DEMO_SIGN_NAME, DEMO_TEMPLATE_CODE, SandboxSms,
)
from payhub.bootstrap import Container, build, peer_http
from payhub.config import AliyunSmsSettings, Settings, SwiftPassAccount, SwiftPassSettings, TcisSettings
from payhub.kernel.domain.errors import Conflict
from payhub.api.app import create_app
from payhub.kernel.services import admin
from payhub.entrypoints.demo_state import JournaledTcis

MERCHANT = "DEMO"
TERMINAL = "POS001"
TERMINAL_KEY = "demo-terminal-key-0001"  # demo mode only: printed so that the demo script can sign
SWIFTPASS_MCH_ID = "755437000001"
SWIFTPASS_KEY = "demo-swiftpass-md5-key"
TCIS_SECRET = "demo-tcis-secret"
PUSH_SECRET = "demo-push-secret-0123456789"  # demo mode only: shared by the hub and the push receiver sandbox
OPERATORS = (
    ("op01", "张柜员", "operator", "op01pass"),
    ("sup01", "李主管", "supervisor", "sup01pass"),
    ("admin", "王管理员", "admin", "admin123"),
)


def demo_settings(*, host: str, port: int, database_url: str) -> Settings:
    """Settings of the demo: SQLite file, sandboxes mounted under /sandbox on the hub's own port."""
    base = f"http://{host}:{port}"
    return Settings(
        demo=True, database_url=database_url, public_url=base, host=host, port=port,
        swiftpass=SwiftPassSettings(
            base_url=f"{base}/sandbox/swiftpass",
            accounts={MERCHANT: SwiftPassAccount(mch_id=SWIFTPASS_MCH_ID, key=SWIFTPASS_KEY)},
        ),
        tcis=TcisSettings(base_url=f"{base}/sandbox/tcis", app_id="payhub", secret=TCIS_SECRET),
        sms=AliyunSmsSettings(endpoint=f"{base}/sandbox/sms", access_key_id=DEMO_ACCESS_KEY_ID,
                              access_key_secret=SecretStr(DEMO_ACCESS_KEY_SECRET), sign_name=DEMO_SIGN_NAME,
                              template_code=DEMO_TEMPLATE_CODE),
    )


async def seed(container: Container) -> None:
    """The demo merchant, terminal and operators (kept if already there)."""
    hub = container.hub
    with contextlib.suppress(Conflict):
        await admin.create_merchant(hub=hub, code=MERCHANT, name="演示燃气公司营业厅")
    with contextlib.suppress(Conflict):
        await admin.create_terminal(hub=hub, merchant_code=MERCHANT, code=TERMINAL, name="1号柜台", key=TERMINAL_KEY)
    for username, name, role, password in OPERATORS:
        with contextlib.suppress(Conflict):
            await admin.create_operator(hub=hub, merchant_code=MERCHANT, username=username, display_name=name,
                                        role=role, password=password)


@dataclass
class Demo:
    app: FastAPI
    container: Container
    swiftpass: SwiftPassSandbox
    tcis: TcisSandbox


def build_demo(settings: Settings, *, tcis_journal: Path | None = None) -> Demo:
    """The hub app with both sandboxes mounted and a loop that delivers the sandbox's notifies; with a journal,
    the TCIS sandbox keeps its postings across restarts like the hub's database keeps its orders."""
    upgrade(url=settings.database_url)
    container = build(settings)
    notify_http = peer_http(timeout=10)  # the sandbox's notifies, sent to the hub like SwiftPass would
    container.http_clients.append(notify_http)
    swiftpass = SwiftPassSandbox(
        accounts={SWIFTPASS_MCH_ID: SandboxAccount(sign_type="MD5", key=SWIFTPASS_KEY)},
        notify_http=notify_http, public_url=settings.swiftpass.base_url,
    )
    tcis = (TcisSandbox(app_id=settings.tcis.app_id, secret=settings.tcis.secret) if tcis_journal is None
            else JournaledTcis(app_id=settings.tcis.app_id, secret=settings.tcis.secret, journal=tcis_journal))
    hub_app = create_app(container)
    inner_lifespan = hub_app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await seed(container)
        stop = asyncio.Event()

        async def deliver() -> None:
            while not stop.is_set():
                await swiftpass.deliver_due_notifies()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.5)

        notifier = asyncio.create_task(deliver())
        try:
            async with inner_lifespan(app):
                yield
        finally:
            stop.set()
            await notifier
            await container.close()

    hub_app.router.lifespan_context = lifespan
    hub_app.mount("/sandbox/swiftpass", swiftpass.app)
    hub_app.mount("/sandbox/tcis", tcis.app)
    hub_app.mount("/sandbox/push", PushReceiver(secret=PUSH_SECRET).app)  # the issuer's system receiving card pushes
    hub_app.mount("/sandbox/sms", SandboxSms().app)  # the hub reaches it over HTTP like Alibaba Cloud SMS
    return Demo(hub_app, container, swiftpass, tcis)


def banner(settings: Settings) -> str:
    """What the demo prints once its ports are open: where everything is and how to log in."""
    base = settings.public_url
    logins = "\n".join(f"    {role:<10} {username} / {password}  ({name})" for username, name, role, password in OPERATORS)
    return f"""
交易宝 PayHub 演示已启动 / demo is running (SQLite: {settings.database_url})
  柜台收银页 Counter POS:     {base}/pos/#terminal={TERMINAL}&key={TERMINAL_KEY}  (registers this browser once)
  接口文档 API docs:          {base}/docs
  健康与指标 Health/metrics:  {base}/healthz  {base}/metrics
  SwiftPass 沙箱:             {base}/sandbox/swiftpass/pay/gateway  (trades: {base}/sandbox/swiftpass/_sandbox/trades)
  TCIS 沙箱:                  {base}/sandbox/tcis  (customers: {base}/sandbox/tcis/_sandbox/customers)
  短信沙箱 SMS sandbox:       {base}/sandbox/sms/  (Alibaba Cloud SendSms; the codes it got)
  商户 Merchant {MERCHANT}，终端 terminal {TERMINAL}，终端密钥 terminal key {TERMINAL_KEY}
  操作员 Operators:
{logins}
  跑一遍柜台流程 Drive counter flows:  .venv/bin/payhub try
"""
