"""The composition root: the only place that picks concrete adapters and wires them to the services."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import httpx

from payhub.adapters.card_channel import CardChannel, CardOperations
from payhub.adapters.clock import SystemClock
from payhub.adapters.db.engine import Database, open_database
from payhub.adapters.db.uow import SqlUnitOfWorkFactory
from payhub.adapters.observability.metrics import HubMetrics, Instrumented
from payhub.adapters.push.client import HttpNotifier
from payhub.adapters.push.targets import PushTargets
from payhub.adapters.registry import AdapterRegistry
from payhub.adapters.security import Argon2Passwords, FernetSealer
from payhub.adapters.signals import LocalOrderSignals
from payhub.adapters.sms.client import AliyunSms
from payhub.adapters.sms.sandbox import SandboxSms
from payhub.adapters.swiftpass.client import SwiftPassChannel
from payhub.adapters.tcis.client import TcisBiller
from payhub.config import Settings
from payhub.domain.sign_in_throttle import SignInRules
from payhub.ports import Clock, SmsGateway
from payhub.services import card_channel
from payhub.services.context import CardPolicy, Hub, Policy

if TYPE_CHECKING:
    from payhub.adapters.hsm.pkcs11_keys import Pkcs11CardKeys


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
        channel_answer_seconds=settings.swiftpass.timeout_seconds,
        order_unpaid_minutes=settings.order_unpaid_minutes,
        session_hours=settings.session_hours,
        signature_window_seconds=settings.signature_window_seconds,
        job_lease_seconds=settings.job_lease_seconds,
        notify_url=settings.public_url.rstrip("/") + "/notify/swiftpass",
        sign_in=SignInRules(**settings.login_throttle.model_dump()),
        cards=CardPolicy(shards=settings.card_shards, business_tz=settings.card_business_tz,
                         password_tries=settings.card_password_tries),
    )


def build(
    settings: Settings, *, clock: Clock | None = None, channel_http: httpx.AsyncClient | None = None,
    biller_http: httpx.AsyncClient | None = None, database: Database | None = None,
    sms_http: httpx.AsyncClient | None = None,
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
    push_http = httpx.AsyncClient(timeout=settings.card_push_timeout_seconds)
    owned.append(push_http)
    if sms_http is None and settings.sms.configured:
        sms_http = httpx.AsyncClient(timeout=settings.sms.timeout_seconds)
        owned.append(sms_http)
    hub = Hub(
        uow=SqlUnitOfWorkFactory(database), clock=clock or SystemClock(), registry=registry,
        sealer=FernetSealer(secret=settings.secret_key), passwords=Argon2Passwords(), signals=LocalOrderSignals(),
        policy=policy_from(settings),
        notifier=HttpNotifier(http=push_http, targets=PushTargets.from_settings(
            demo=settings.demo, allowed=settings.card_push_allowed)), sms=sms_gateway(settings, http=sms_http),
    )
    card = CardChannel(operations=card_operations(hub))
    registry.add_channel(Instrumented(card, system=card.name, metrics=metrics))
    return Container(settings=settings, database=database, hub=hub, metrics=metrics, http_clients=owned)


def sms_gateway(settings: Settings, *, http: httpx.AsyncClient | None) -> SmsGateway | None:
    """Alibaba Cloud SMS when configured, else the in-process sandbox in demo mode, else none (codes cannot be sent)."""
    if settings.sms.configured and http is not None:
        return AliyunSms(settings=settings.sms, http=http)
    return SandboxSms() if settings.demo else None


def card_keys(settings: Settings) -> Pkcs11CardKeys:
    """The card key service in the configured PKCS#11 token (加密机)."""
    # imported here: python-pkcs11 is needed only where the HSM is used (the keys CLI), not by every hub process
    from payhub.adapters.hsm.pkcs11_keys import Pkcs11CardKeys

    hsm = settings.hsm
    return Pkcs11CardKeys(module=hsm.module, token_label=hsm.token_label, pin=hsm.pin.get_secret_value(),
                          key_label=hsm.key_label)


def card_operations(hub: Hub) -> CardOperations:
    """The card payment use cases bound to the hub, for the card channel."""
    return CardOperations(
        pay=partial(card_channel.pay, hub=hub), query=partial(card_channel.query, hub=hub),
        cancel=partial(card_channel.cancel, hub=hub), refund=partial(card_channel.refund, hub=hub),
        refund_query=partial(card_channel.refund_query, hub=hub), statement=partial(card_channel.statement, hub=hub),
    )
