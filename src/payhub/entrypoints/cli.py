"""The `payhub` command: serve, worker, demo, sandboxes, database and tenant set-up."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import uvicorn

from payhub.kernel.adapters.observability.logs import configure_logging
from payhub.config import Settings

if TYPE_CHECKING:  # imported lazily at run time to keep the command quick to start
    from payhub.integrations.hsm.pkcs11_keys import MasterKeyVersion
    from payhub.bootstrap import Container

T = TypeVar("T")

app = typer.Typer(help="PayHub 交易宝: a payment hub.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
sandbox_app = typer.Typer(help="Simulators of the far systems, speaking their real protocols.", no_args_is_help=True)
merchant_app = typer.Typer(help="Merchants (tenants).", no_args_is_help=True)
terminal_app = typer.Typer(help="Terminals of a merchant.", no_args_is_help=True)
operator_app = typer.Typer(help="Operators of a merchant.", no_args_is_help=True)
receipts_app = typer.Typer(help="Receipts printed to a file printer.", no_args_is_help=True)
card_app = typer.Typer(help="Stored-value cards.", no_args_is_help=True)
app.add_typer(card_app, name="cards")
keys_app = typer.Typer(help="Card master keys in the HSM (加密机, PKCS#11; PAYHUB_HSM__*).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
for sub, name in ((db_app, "db"), (sandbox_app, "sandbox"), (merchant_app, "merchant"), (terminal_app, "terminal"),
                  (operator_app, "operator"), (receipts_app, "receipts")):
    app.add_typer(sub, name=name)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as error:
        typer.echo(f"配置错误 / bad settings: {error}", err=True)
        raise typer.Exit(2) from None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    from payhub.kernel.domain.errors import PayhubError

    try:
        return asyncio.run(coro)
    except PayhubError as error:
        typer.echo(f"{error.code}: {error}", err=True)
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None, port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="hub processes sharing the port (PostgreSQL only)")] = None,
) -> None:
    """Run the hub's API (with the embedded worker unless PAYHUB_EMBEDDED_WORKER=false), in one or more processes."""
    from payhub.kernel.adapters.db.migrate import upgrade
    from payhub.entrypoints.serving import serve_here, serve_processes

    settings = _settings()
    configure_logging(json_lines=settings.log_json)
    processes = workers or settings.serve_workers
    if processes > 1 and not settings.database_url.startswith("postgresql"):
        typer.echo("--workers > 1 needs PostgreSQL: SQLite's order signals stay in one process", err=True)
        raise typer.Exit(2)
    upgrade(url=settings.database_url)
    host, port = host or settings.host, port or settings.port
    if processes == 1:
        serve_here(settings, host=host, port=port)
    else:
        serve_processes(host=host, port=port, workers=processes)


@app.command()
def worker() -> None:
    """Run a job worker only (several may run beside several `serve` processes)."""
    import uvloop

    from payhub.entrypoints.worker import run_worker

    settings = _settings()
    configure_logging(json_lines=settings.log_json)
    uvloop.run(run_worker(settings))


def _listen(*, host: str, port: int, what: str, option: str, hint: str = "") -> socket.socket:
    """A socket bound to the port, or a clear line naming the port and the option that changes it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        typer.echo(f"端口 {port} 已被占用，{what}无法启动：请用 {option} 换一个端口{hint} / port {port} is taken"
                   f" ({error.strerror}): choose another with {option}", err=True)
        raise typer.Exit(2) from None
    return sock


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="the hub's port")] = 8000,
    database: Annotated[Path, typer.Option(help="the SQLite file; its folder also keeps the TCIS sandbox's state")]
    = Path("var/demo.sqlite3"),
    agent_port: Annotated[int, typer.Option(help="the terminal agent beside it (0: none)")] = 8765,
    receipts: Annotated[Path, typer.Option(help="the agent's file printer")] = Path("var/receipts.bin"),
    reset: Annotated[bool, typer.Option("--reset", help="start afresh: no orders, TCIS bills as seeded")] = False,
) -> None:
    """The embedded demo: SQLite, sandboxes, demo merchant, terminal and operators, a terminal agent printing to a file."""
    from payhub.agent.app import AgentSettings, agent_for
    from payhub.entrypoints.demo import banner, build_demo, demo_settings
    from payhub.entrypoints.demo_state import announced, tcis_journal_path

    journal = tcis_journal_path(database=database)
    sockets = [_listen(host=host, port=port, what="交易宝演示", option="--port")]
    if agent_port:
        sockets.append(_listen(host="127.0.0.1", port=agent_port, what="终端代理", option="--agent-port",
                               hint="（--agent-port 0：不启动代理）"))
    if reset:
        for path in (database, database.with_name(f"{database.name}-wal"), database.with_name(f"{database.name}-shm"),
                     journal):
            path.unlink(missing_ok=True)
    database.parent.mkdir(parents=True, exist_ok=True)
    settings = demo_settings(host=host, port=port, database_url=f"sqlite+aiosqlite:///{database}")
    configure_logging(json_lines=settings.log_json)
    built = build_demo(settings, tcis_journal=journal)
    servers = [uvicorn.Server(uvicorn.Config(built.app, log_config=None))]
    if agent_port:
        receipts.parent.mkdir(parents=True, exist_ok=True)
        agent_app = agent_for(printer_spec=f"file:{receipts}", settings=AgentSettings(
            allowed_origins=(settings.public_url, f"http://localhost:{port}")))
        servers.append(uvicorn.Server(uvicorn.Config(agent_app, log_config=None)))
    typer.echo(banner(settings))
    if agent_port:
        typer.echo(f"  终端代理 Terminal agent:    http://127.0.0.1:{agent_port} printing to {receipts}"
                   f" (read it: payhub receipts show {receipts})\n")

    async def serve_all() -> None:
        await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in zip(servers, sockets, strict=True)))

    with announced(folder=database.parent, base_url=settings.public_url):
        asyncio.run(serve_all())


@app.command()
def agent(
    printer: Annotated[str, typer.Option(help="file:PATH, tcp:HOST[:PORT], serial:DEVICE[:BAUD] or usb:VID:PID")]
    = "file:var/receipts.bin",
    port: Annotated[int, typer.Option(help="served on 127.0.0.1 only")] = 8765,
    allowed_origin: Annotated[list[str] | None, typer.Option(help="a page origin allowed to use the agent (repeat)")] = None,
    paper: Annotated[int, typer.Option(help="roll width in mm: 58 or 80")] = 80,
) -> None:
    """The terminal agent on the counter PC: receipt printer status and printing for the POS page."""
    from payhub.agent.app import AgentSettings, agent_for

    try:
        built = agent_for(printer_spec=printer, settings=AgentSettings(
            allowed_origins=tuple(allowed_origin or ("http://127.0.0.1:8000",)), paper_mm=paper))
    except ValueError as error:
        typer.echo(f"参数错误 / bad option: {error}", err=True)
        raise typer.Exit(2) from None
    configure_logging(json_lines=False)
    uvicorn.run(built, host="127.0.0.1", port=port, log_config=None)


@receipts_app.command("show")
def receipts_show(path: Path) -> None:
    """Print what a file printer received as a person would read it (text, QR contents, cuts)."""
    from payhub.integrations.printing.wire import read_back

    if not path.exists():
        typer.echo(f"没有这个文件 / no such file: {path}", err=True)
        raise typer.Exit(2)
    printed = read_back(path.read_bytes())
    typer.echo(printed.text)
    for qr in printed.qr_codes:
        typer.echo(f"[QR] {qr}")
    typer.echo(f"[{printed.cuts} 次切纸 / cuts]")


DEMO_FOLDER = typer.Option(help="the data folder of the running demo, where it says its address")
BASE_URL = typer.Option(help="the hub's address (default: the running demo's, else http://127.0.0.1:8000)")


def _drive(flows: Callable[[str], Coroutine[Any, Any, int]], *, base_url: str | None, folder: Path) -> None:
    """Run flows against the demo; a demo that is not there or answers an error is one line, not a traceback."""
    import httpx

    from payhub.entrypoints.demo_flow import FlowError
    from payhub.entrypoints.demo_state import running_base_url

    url = base_url or running_base_url(folder=folder)
    try:
        status = asyncio.run(flows(url))
    except httpx.TransportError:
        typer.echo(f"连不上交易宝演示 {url}：请先在另一个窗口运行 bash scripts/demo.sh，或用 --base-url 指定它的地址"
                   f" / no demo answers at {url}", err=True)
        raise typer.Exit(1) from None
    except (httpx.HTTPStatusError, FlowError) as error:
        typer.echo(f"演示返回了错误 / the demo refused: {error}", err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(status)


@app.command("try")
def try_flow(
    base_url: Annotated[str | None, BASE_URL] = None, demo_folder: Annotated[Path, DEMO_FOLDER] = Path("var"),
) -> None:
    """Drive counter flows through the API of a running demo: QR paid, payment code paid, posting refused and refunded."""
    from payhub.entrypoints.demo_flow import run_demo_flows

    _drive(lambda url: run_demo_flows(base_url=url, echo=typer.echo), base_url=base_url, folder=demo_folder)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations to PAYHUB_DATABASE_URL."""
    from payhub.kernel.adapters.db.migrate import upgrade

    upgrade(url=_settings().database_url, revision=revision)
    typer.echo("数据库已升级 / database upgraded")


@sandbox_app.command("swiftpass")
def sandbox_swiftpass(
    port: Annotated[int, typer.Option()] = 8200,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    mch_id: Annotated[str, typer.Option(help="the merchant id it accepts")] = "755437000001",
    key: Annotated[str | None, typer.Option(help="MD5 key")] = None,
    sign_type: Annotated[str, typer.Option(help="MD5, RSA_1_256 or RSA_1_1")] = "MD5",
    merchant_public_key: Annotated[Path | None, typer.Option(help="PEM that verifies the merchant's RSA requests")] = None,
    platform_private_key: Annotated[Path | None, typer.Option(help="PEM that signs RSA answers and notifies")] = None,
    public_url: Annotated[str | None, typer.Option(help="where it is reached (for QR links)")] = None,
) -> None:
    """Run the SwiftPass sandbox alone at /pay/gateway."""
    from payhub.integrations.swiftpass.sandbox import SandboxAccount, SwiftPassSandbox
    from payhub.bootstrap import peer_http

    if sign_type == "MD5" and not key:
        typer.echo("--key is needed for MD5", err=True)
        raise typer.Exit(2)
    account = SandboxAccount(
        sign_type=sign_type, key=key,  # type: ignore[arg-type]  # free text: as SignType, typer would refuse others
        merchant_public_key_pem=merchant_public_key.read_text() if merchant_public_key else None,
        platform_private_key_pem=platform_private_key.read_text() if platform_private_key else None,
    )
    sandbox = SwiftPassSandbox(accounts={mch_id: account}, notify_http=peer_http(timeout=10),
                               public_url=public_url or f"http://{host}:{port}")
    configure_logging(json_lines=False)
    uvicorn.run(sandbox.app, host=host, port=port, log_config=None)


@sandbox_app.command("sms")
def sandbox_sms(
    port: Annotated[int, typer.Option()] = 8400,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    access_key_id: Annotated[str | None, typer.Option(help="the AccessKey id it accepts (default: the demo's)")] = None,
    access_key_secret: Annotated[str | None, typer.Option(help="its AccessKey secret (default: the demo's)")] = None,
    sign_name: Annotated[str | None, typer.Option(help="the registered sign name (default: 交易宝)")] = None,
    template_code: Annotated[str | None, typer.Option(help="the registered verification-code template")] = None,
) -> None:
    """Run the SMS sandbox alone: Alibaba Cloud SendSms at /, the messages it got at /_sandbox/messages."""
    from payhub.integrations.sms import sandbox as sms

    box = sms.SandboxSms(
        access_keys={access_key_id or sms.DEMO_ACCESS_KEY_ID: access_key_secret or sms.DEMO_ACCESS_KEY_SECRET},
        sign_names=frozenset({sign_name or sms.DEMO_SIGN_NAME}),
        templates={template_code or sms.DEMO_TEMPLATE_CODE: sms.DEMO_TEMPLATE},
    )
    configure_logging(json_lines=False)
    uvicorn.run(box.app, host=host, port=port, log_config=None)


@sandbox_app.command("printer")
def sandbox_printer(
    port: Annotated[int, typer.Option(help="ESC/POS over TCP")] = 9100,
    control_port: Annotated[int, typer.Option(help="HTTP control: /_sandbox/state, /_sandbox/jobs")] = 9101,
) -> None:
    """Run the receipt-printer sandbox: a network printer on 127.0.0.1 that answers DLE EOT and keeps jobs."""
    from payhub.integrations.printing.sandbox import PrinterSandbox

    async def go() -> None:
        sandbox = PrinterSandbox()
        await sandbox.start(port=port)
        typer.echo(f"打印机沙箱 / printer sandbox: tcp:127.0.0.1:{port}, control http://127.0.0.1:{control_port}/_sandbox/state")
        try:
            await uvicorn.Server(uvicorn.Config(sandbox.app, host="127.0.0.1", port=control_port, log_config=None)).serve()
        finally:
            await sandbox.stop()

    configure_logging(json_lines=False)
    asyncio.run(go())


@app.command("try-cards")
def try_cards(
    base_url: Annotated[str | None, BASE_URL] = None, demo_folder: Annotated[Path, DEMO_FOLDER] = Path("var"),
) -> None:
    """Drive the stored-value card flows through a running demo: member, SMS, recharge, consume, refund, transfer, pushes."""
    from payhub.entrypoints.cards_demo_flow import run_card_flows

    _drive(lambda url: run_card_flows(base_url=url, echo=typer.echo), base_url=base_url, folder=demo_folder)


@sandbox_app.command("push-receiver")
def sandbox_push_receiver(
    secret: Annotated[str, typer.Option(help="the issuer's push secret (PUT /api/v1/cards/program)")],
    port: Annotated[int, typer.Option()] = 8300,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
) -> None:
    """Run a card push receiver: verifies signatures, dedupes by event id, shows what arrived at /."""
    from payhub.integrations.push.sandbox import PushReceiver

    configure_logging(json_lines=False)
    uvicorn.run(PushReceiver(secret=secret).app, host=host, port=port, log_config=None)


@card_app.command("issue-pool")
def cards_issue_pool(
    merchant: str,
    prefix: Annotated[str, typer.Option(help="2 to 8 leading digits")],
    count: Annotated[int, typer.Option()] = 100,
    kind: Annotated[str, typer.Option(help="virtual or physical")] = "virtual",
) -> None:
    """Issue a batch of Luhn-valid card numbers into the issuer's pool."""
    from payhub.cards.domain.cards import CardKind
    from payhub.cards.services import pool as card_pool

    if kind not in ("virtual", "physical"):
        typer.echo("--kind: virtual or physical", err=True)
        raise typer.Exit(2)

    async def go() -> None:
        container = _hub()
        try:
            batch = await card_pool.issue_for(hub=container.hub, merchant_code=merchant, prefix=prefix, count=count,
                                              kind=CardKind(kind))
            typer.echo(f"卡池批次 {batch['batch']}：新增 {batch['added']} 个{kind}卡号")
        finally:
            await container.close()

    _run(go())


@keys_app.command("init")
def keys_init() -> None:
    """Generate card master key version 1 inside the HSM (nothing happens if one is there)."""
    from payhub.bootstrap import card_keys

    async def go() -> bool:
        return card_keys(_settings()).init()

    typer.echo("已在加密机中生成卡主密钥 v1" if _run(go()) else "加密机中已有卡主密钥，未做改动")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Generate the next card master key version; MACs are made under it, older versions still verify."""
    from payhub.bootstrap import card_keys

    async def go() -> int:
        return card_keys(_settings()).rotate()

    typer.echo(f"已生成卡主密钥 v{_run(go())}，旧版本保留用于验证")


@keys_app.command("status")
def keys_status() -> None:
    """List the card master key versions in the HSM (labels and flags; key material never leaves it)."""
    from payhub.bootstrap import card_keys

    async def go() -> list[MasterKeyVersion]:
        return card_keys(_settings()).status()

    versions = _run(go())
    if not versions:
        typer.echo("加密机中没有卡主密钥，请先执行 payhub keys init")
        raise typer.Exit(1)
    for key in versions:
        typer.echo(f"v{key.version}\t{key.label}\tsensitive={key.sensitive}\textractable={key.extractable}"
                   + ("\tcurrent" if key.current else ""))


@sandbox_app.command("tcis")
def sandbox_tcis(
    port: Annotated[int, typer.Option()] = 8100,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    app_id: Annotated[str, typer.Option()] = "payhub",
    secret: Annotated[str, typer.Option()] = "demo-tcis-secret",
) -> None:
    """Run the TCIS billing-system sandbox alone."""
    from payhub.integrations.tcis.sandbox import TcisSandbox

    configure_logging(json_lines=False)
    uvicorn.run(TcisSandbox(app_id=app_id, secret=secret).app, host=host, port=port, log_config=None)


def _hub() -> Container:
    from payhub.bootstrap import build

    return build(_settings())


@merchant_app.command("create")
def merchant_create(code: str, name: str, channel: str = "swiftpass", biller: str = "tcis") -> None:
    """Register a merchant."""
    from payhub.kernel.services import admin

    async def go() -> None:
        container = _hub()
        try:
            merchant = await admin.create_merchant(hub=container.hub, code=code, name=name, channel=channel, biller=biller)
            typer.echo(f"商户 {merchant.code} 已创建 (id {merchant.id})")
        finally:
            await container.close()

    _run(go())


@merchant_app.command("phone")
def merchant_phone(code: str, phone: str) -> None:
    """Set the customer-service phone printed on the merchant's receipts ("" for none)."""
    from payhub.kernel.services import admin

    async def go() -> None:
        container = _hub()
        try:
            merchant = await admin.set_service_phone(hub=container.hub, merchant_code=code, phone=phone)
            typer.echo(f"商户 {merchant.code} 的客服电话已设为 {merchant.service_phone or '（无）'}")
        finally:
            await container.close()

    _run(go())


@terminal_app.command("create")
def terminal_create(merchant: str, code: str, name: str) -> None:
    """Register a terminal and print its signing key once."""
    from payhub.kernel.services import admin

    async def go() -> None:
        container = _hub()
        try:
            terminal, key = await admin.create_terminal(hub=container.hub, merchant_code=merchant, code=code, name=name)
            typer.echo(f"终端 {terminal.code} 已创建；签名密钥（只显示一次）/ signing key (shown once): {key}")
        finally:
            await container.close()

    _run(go())


@operator_app.command("create")
def operator_create(
    merchant: str, username: str,
    name: Annotated[str, typer.Option("--name")],
    role: Annotated[str, typer.Option(help="operator, supervisor or admin")] = "operator",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Register an operator."""
    from payhub.kernel.services import admin

    async def go() -> None:
        container = _hub()
        try:
            operator = await admin.create_operator(hub=container.hub, merchant_code=merchant, username=username,
                                                   display_name=name, role=role, password=password)
            typer.echo(f"操作员 {operator.username}（{operator.role.label_zh}）已创建")
        finally:
            await container.close()

    _run(go())
