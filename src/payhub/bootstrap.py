"""The composition root: the only place that picks concrete adapters and wires them to the services."""
from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from payhub.adapters.clock import SystemClock
from payhub.adapters.db.engine import Database, open_database
from payhub.adapters.db.uow import SqlUnitOfWorkFactory
from payhub.adapters.observability.metrics import HubMetrics, Instrumented
from payhub.adapters.registry import AdapterRegistry
from payhub.adapters.security import Argon2Passwords, FernetSealer
from payhub.adapters.signals import LocalOrderSignals
from payhub.adapters.swiftpass.client import SwiftPassChannel
from payhub.adapters.tcis.client import TcisBiller
from payhub.config import Settings
from payhub.ports import Clock
from payhub.services.context import Hub, Policy


@dataclass
class Container:
    """Everything a running hub holds; close() releases connections."""

    settings: Settings
    database: Database
    hub: Hub
    metrics: HubMetrics
    http_clients: list[httpx.AsyncClient] = field(default_factory=list)

    async def close(self) -> None:
        for client in self.http_clients:
            await client.aclose()
        await self.database.dispose()


def policy_from(settings: Settings) -> Policy:
    """Business timings from settings."""
    return Policy(
        native_qr_minutes=settings.native_qr_minutes,
        micropay_poll_seconds=settings.micropay_poll_seconds,
        micropay_poll_cap_seconds=settings.micropay_poll_cap_seconds,
        order_unpaid_minutes=settings.order_unpaid_minutes,
        session_hours=settings.session_hours,
        signature_window_seconds=settings.signature_window_seconds,
        job_lease_seconds=settings.job_lease_seconds,
        notify_url=settings.public_url.rstrip("/") + "/notify/swiftpass",
    )


def build(
    settings: Settings, *, clock: Clock | None = None, channel_http: httpx.AsyncClient | None = None,
    biller_http: httpx.AsyncClient | None = None, database: Database | None = None,
) -> Container:
    """Wire a hub from settings; tests pass HTTP clients routed to in-process sandboxes and a manual clock."""
    owned: list[httpx.AsyncClient] = []
    if channel_http is None:
        channel_http = httpx.AsyncClient(timeout=settings.swiftpass.timeout_seconds)
        owned.append(channel_http)
    if biller_http is None:
        biller_http = httpx.AsyncClient(timeout=settings.tcis.timeout_seconds)
        owned.append(biller_http)
    metrics = HubMetrics()
    channel = SwiftPassChannel(settings=settings.swiftpass, http=channel_http)
    biller = TcisBiller(settings=settings.tcis, http=biller_http)
    registry = AdapterRegistry(
        channels={channel.name: Instrumented(channel, system=channel.name, metrics=metrics)},
        billers={biller.name: Instrumented(biller, system=biller.name, metrics=metrics)},
    )
    database = database or open_database(settings.database_url, pool_size=settings.db_pool_size)
    hub = Hub(
        uow=SqlUnitOfWorkFactory(database), clock=clock or SystemClock(), registry=registry,
        sealer=FernetSealer(secret=settings.secret_key), passwords=Argon2Passwords(), signals=LocalOrderSignals(),
        policy=policy_from(settings),
    )
    return Container(settings=settings, database=database, hub=hub, metrics=metrics, http_clients=owned)
