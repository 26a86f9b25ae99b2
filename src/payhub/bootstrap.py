"""The composition root: the only place that picks concrete adapters and wires them to the services."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import httpx

from payhub.cards.adapters.channel import CardChannel, CardOperations
from payhub.kernel.adapters.clock import SystemClock
from payhub.kernel.adapters.db.engine import Database, open_database
from payhub.cards.adapters.db.uow import SqlCardUnitOfWorkFactory
from payhub.counter.adapters.billers import BillerRegistry
from payhub.kernel.adapters.observability.metrics import HubMetrics, Instrumented
from payhub.kernel.adapters.pg_notifications import PgNotifications
from payhub.integrations.push.client import HttpNotifier
from payhub.integrations.push.targets import PushTargets
from payhub.kernel.adapters.registry import AdapterRegistry
from payhub.kernel.adapters.security import Argon2Passwords, FernetSealer
from payhub.kernel.adapters.signals import LocalJobWakeups, LocalOrderSignals
from payhub.integrations.sms.client import AliyunSms
from payhub.integrations.sms.sandbox import SandboxSms
from payhub.integrations.swiftpass.client import SwiftPassChannel
from payhub.integrations.tcis.client import TcisBiller
from payhub.cards.jobs import card_jobs
from payhub.config import Settings
from payhub.kernel.domain.sign_in_throttle import SignInRules
from payhub.kernel.ports import Clock, JobWakeups, SmsGateway
from payhub.cards.services import channel as card_channel
from payhub.counter.services.biller_posting import BillerPosting
from payhub.kernel.services.auth_cache import AuthCache
from payhub.kernel.services.fulfilment_kinds import FulfilmentKinds
from payhub.kernel.services.job_handlers import JobHandlers
from payhub.kernel.services.outbox import kernel_jobs
from payhub.till.services.retail import Retail
from payhub.cards.services.context import CardHub, CardPolicy
from payhub.counter.services.context import CounterHub
from payhub.kernel.services.context import Policy

if TYPE_CHECKING:
    from payhub.integrations.hsm.pkcs11_keys import Pkcs11CardKeys


@dataclass(frozen=True, kw_only=True)
class AppHub(CounterHub, CardHub):
    """The hub this application's services share: the kernel's with every product's extras."""


@dataclass
class Container:
    """Everything a running hub holds; close() releases connections."""

    settings: Settings
    database: Database
    hub: AppHub
    metrics: HubMetrics
    wakeups: JobWakeups  # the ones the units of work tell: the notifications, or in-process on SQLite
    http_clients: list[httpx.AsyncClient] = field(default_factory=list)
    notifications: PgNotifications | None = None  # PostgreSQL: order signals and job wake-ups across processes

    async def start(self) -> None:
        """Start what runs in the background of a serving process (the LISTEN connection on PostgreSQL)."""
        if self.notifications is not None:
            await self.notifications.start()

    async def stop(self) -> None:
        """Stop what start() started."""
        if self.notifications is not None:
            await self.notifications.close()

    async def close(self) -> None:
        await self.stop()
        for client in self.http_clients:
            await client.aclose()
        await self.database.dispose()


# An idle pooled connection is dropped well before the peer's own keep-alive timeout (uvicorn's and Apache's
# default is 5 s, httpx's expiry also 5 s): a request sent on a connection the peer is closing at that moment
# fails without an answer, and on a payment that means a reversal.
PEER_KEEPALIVE_EXPIRY_SECONDS = 2.0


def peer_http(*, timeout: float) -> httpx.AsyncClient:
    """An HTTP client for a far system (channel, biller, push target, SMS gateway)."""
    return httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(keepalive_expiry=PEER_KEEPALIVE_EXPIRY_SECONDS))


def policy_from(settings: Settings) -> Policy:
    """Business timings from settings."""
    return Policy(
        **settings.timings.model_dump(),
        channel_answer_seconds=settings.swiftpass.timeout_seconds,
        notify_url=settings.public_url.rstrip("/") + "/notify/swiftpass",
        sign_in=SignInRules(**settings.login_throttle.model_dump()),
    )


def card_policy_from(settings: Settings) -> CardPolicy:
    """Stored-value card rules from settings."""
    return CardPolicy(**settings.cards.model_dump())


def build(
    settings: Settings, *, clock: Clock | None = None, channel_http: httpx.AsyncClient | None = None,
    biller_http: httpx.AsyncClient | None = None, database: Database | None = None,
    sms_http: httpx.AsyncClient | None = None, auth_cache: AuthCache | None = None,
) -> Container:
    """Wire a hub from settings; tests pass HTTP clients routed to in-process sandboxes, a manual clock and an
    auth cache whose clock they can hold."""
    owned: list[httpx.AsyncClient] = []
    if channel_http is None:
        channel_http = peer_http(timeout=settings.swiftpass.timeout_seconds)
        owned.append(channel_http)
    if biller_http is None:
        biller_http = peer_http(timeout=settings.tcis.timeout_seconds)
        owned.append(biller_http)
    metrics = HubMetrics()
    channel = SwiftPassChannel(settings=settings.swiftpass, http=channel_http)
    biller = TcisBiller(settings=settings.tcis, http=biller_http)
    billers = BillerRegistry({biller.name: Instrumented(biller, system=biller.name, metrics=metrics)})
    registry = AdapterRegistry(
        channels={channel.name: Instrumented(channel, system=channel.name, metrics=metrics)}, billers=billers.names,
    )
    database = database or open_database(settings.database_url, pool_size=settings.db_pool_size)
    push_http = peer_http(timeout=settings.card_push_timeout_seconds)
    owned.append(push_http)
    if sms_http is None and settings.sms.configured:
        sms_http = peer_http(timeout=settings.sms.timeout_seconds)
        owned.append(sms_http)
    notifications = PgNotifications(database_url=settings.database_url) if database.dialect == "postgresql" else None
    wakeups = notifications or LocalJobWakeups()
    clock = clock or SystemClock()
    hub = AppHub(
        uow=SqlCardUnitOfWorkFactory(database, wakeups=wakeups, clock=clock), clock=clock, registry=registry,
        fulfillers=FulfilmentKinds([BillerPosting(billers=billers), Retail()]),
        jobs=JobHandlers([*kernel_jobs(), *card_jobs()]),
        sealer=FernetSealer(secret=settings.secret_key), passwords=Argon2Passwords(),
        signals=notifications or LocalOrderSignals(), policy=policy_from(settings), billers=billers,
        cards=card_policy_from(settings), auth_cache=auth_cache or AuthCache(),
        notifier=HttpNotifier(http=push_http, targets=PushTargets.from_settings(
            demo=settings.demo, allowed=settings.card_push_allowed)), sms=sms_gateway(settings, http=sms_http),
    )
    card = CardChannel(operations=card_operations(hub))
    registry.add_channel(Instrumented(card, system=card.name, metrics=metrics))
    return Container(settings=settings, database=database, hub=hub, metrics=metrics, http_clients=owned,
                     notifications=notifications, wakeups=wakeups)


def sms_gateway(settings: Settings, *, http: httpx.AsyncClient | None) -> SmsGateway | None:
    """Alibaba Cloud SMS when configured, else the in-process sandbox in demo mode, else none (codes cannot be sent)."""
    if settings.sms.configured and http is not None:
        return AliyunSms(settings=settings.sms, http=http)
    return SandboxSms() if settings.demo else None


def card_keys(settings: Settings) -> Pkcs11CardKeys:
    """The card key service in the configured PKCS#11 token (加密机)."""
    # imported here: python-pkcs11 is needed only where the HSM is used (the keys CLI), not by every hub process
    from payhub.integrations.hsm.pkcs11_keys import Pkcs11CardKeys

    hsm = settings.hsm
    return Pkcs11CardKeys(module=hsm.module, token_label=hsm.token_label, pin=hsm.pin.get_secret_value(),
                          key_label=hsm.key_label)


def card_operations(hub: CardHub) -> CardOperations:
    """The card payment use cases bound to the hub, for the card channel."""
    return CardOperations(
        pay=partial(card_channel.pay, hub=hub), query=partial(card_channel.query, hub=hub),
        cancel=partial(card_channel.cancel, hub=hub), refund=partial(card_channel.refund, hub=hub),
        refund_query=partial(card_channel.refund_query, hub=hub), statement=partial(card_channel.statement, hub=hub),
    )
