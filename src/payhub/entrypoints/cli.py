"""The `payhub` command: serve, worker, demo, sandboxes, database and tenant set-up."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from payhub.adapters.observability.logs import configure_logging
from payhub.config import Settings

app = typer.Typer(help="PayHub 交易宝: a payment hub.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
sandbox_app = typer.Typer(help="Simulators of the far systems, speaking their real protocols.", no_args_is_help=True)
merchant_app = typer.Typer(help="Merchants (tenants).", no_args_is_help=True)
terminal_app = typer.Typer(help="Terminals of a merchant.", no_args_is_help=True)
operator_app = typer.Typer(help="Operators of a merchant.", no_args_is_help=True)
for sub, name in ((db_app, "db"), (sandbox_app, "sandbox"), (merchant_app, "merchant"), (terminal_app, "terminal"),
                  (operator_app, "operator")):
    app.add_typer(sub, name=name)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as error:
        typer.echo(f"配置错误 / bad settings: {error}", err=True)
        raise typer.Exit(2) from None


def _run(coro):  # type: ignore[no-untyped-def]
    from payhub.domain.errors import PayhubError

    try:
        return asyncio.run(coro)
    except PayhubError as error:
        typer.echo(f"{error.code}: {error}", err=True)
        raise typer.Exit(1) from None


@app.command()
def serve(host: Annotated[str | None, typer.Option()] = None, port: Annotated[int | None, typer.Option()] = None) -> None:
    """Run the hub's API (with the embedded worker unless PAYHUB_EMBEDDED_WORKER=false)."""
    from payhub.adapters.db.migrate import upgrade
    from payhub.bootstrap import build
    from payhub.entrypoints.api.app import create_app

    settings = _settings()
    configure_logging(json_lines=settings.log_json)
    upgrade(url=settings.database_url)
    uvicorn.run(create_app(build(settings)), host=host or settings.host, port=port or settings.port, log_config=None)


@app.command()
def worker() -> None:
    """Run a job worker only (several may run beside several `serve` processes)."""
    from payhub.entrypoints.worker import run_worker

    settings = _settings()
    configure_logging(json_lines=settings.log_json)
    asyncio.run(run_worker(settings))


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    database: Annotated[Path, typer.Option(help="the SQLite file")] = Path("var/demo.sqlite3"),
) -> None:
    """The embedded demo: SQLite, both sandboxes, a demo merchant, terminal and operators; prints URLs and logins."""
    from payhub.entrypoints.demo import banner, build_demo, demo_settings

    settings = demo_settings(host=host, port=port, database_url=f"sqlite+aiosqlite:///{database}")
    configure_logging(json_lines=False)
    built = build_demo(settings)
    typer.echo(banner(settings))
    uvicorn.run(built.app, host=host, port=port, log_config=None)


@app.command("try")
def try_flow(
    base_url: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
) -> None:
    """Drive counter flows through the API of a running demo: QR paid, payment code paid, posting refused and refunded."""
    from payhub.entrypoints.demo_flow import run_demo_flows

    raise typer.Exit(asyncio.run(run_demo_flows(base_url=base_url, echo=typer.echo)))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations to PAYHUB_DATABASE_URL."""
    from payhub.adapters.db.migrate import upgrade

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
    import httpx

    from payhub.adapters.swiftpass.sandbox import SandboxAccount, SwiftPassSandbox

    if sign_type == "MD5" and not key:
        typer.echo("--key is needed for MD5", err=True)
        raise typer.Exit(2)
    account = SandboxAccount(
        sign_type=sign_type, key=key,  # type: ignore[arg-type]
        merchant_public_key_pem=merchant_public_key.read_text() if merchant_public_key else None,
        platform_private_key_pem=platform_private_key.read_text() if platform_private_key else None,
    )
    sandbox = SwiftPassSandbox(accounts={mch_id: account}, notify_http=httpx.AsyncClient(timeout=10),
                               public_url=public_url or f"http://{host}:{port}")
    configure_logging(json_lines=False)
    uvicorn.run(sandbox.app, host=host, port=port, log_config=None)


@sandbox_app.command("tcis")
def sandbox_tcis(
    port: Annotated[int, typer.Option()] = 8100,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    app_id: Annotated[str, typer.Option()] = "payhub",
    secret: Annotated[str, typer.Option()] = "demo-tcis-secret",
) -> None:
    """Run the TCIS billing-system sandbox alone."""
    from payhub.adapters.tcis.sandbox import TcisSandbox

    configure_logging(json_lines=False)
    uvicorn.run(TcisSandbox(app_id=app_id, secret=secret).app, host=host, port=port, log_config=None)


def _hub():  # type: ignore[no-untyped-def]
    from payhub.bootstrap import build

    return build(_settings())


@merchant_app.command("create")
def merchant_create(code: str, name: str, channel: str = "swiftpass", biller: str = "tcis") -> None:
    """Register a merchant."""
    from payhub.services import admin

    async def go() -> None:
        container = _hub()
        try:
            merchant = await admin.create_merchant(hub=container.hub, code=code, name=name, channel=channel, biller=biller)
            typer.echo(f"商户 {merchant.code} 已创建 (id {merchant.id})")
        finally:
            await container.close()

    _run(go())


@terminal_app.command("create")
def terminal_create(merchant: str, code: str, name: str) -> None:
    """Register a terminal and print its signing key once."""
    from payhub.services import admin

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
    from payhub.services import admin

    async def go() -> None:
        container = _hub()
        try:
            operator = await admin.create_operator(hub=container.hub, merchant_code=merchant, username=username,
                                                   display_name=name, role=role, password=password)
            typer.echo(f"操作员 {operator.username}（{operator.role.label_zh}）已创建")
        finally:
            await container.close()

    _run(go())
