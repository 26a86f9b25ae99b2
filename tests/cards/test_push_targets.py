"""The issuer's push URL: HTTPS to a public address, unless configured otherwise (an allow-list) or in demo mode,
where the in-process push receiver sandbox on loopback takes the pushes."""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from payhub.integrations.push.client import HttpNotifier
from payhub.integrations.push.targets import PushTargets
from payhub.integrations.push.sandbox import PushReceiver
from payhub.config import TcisSettings
from payhub.kernel.ports import PushFailed
from payhub.cards.services import lifecycle as card_lifecycle
from tests.cards.conftest import CardWorld, expect, make_world

SECRET = "receiver-secret-0123456789"
PRODUCTION = {"demo": False, "secret_key": "a-real-secret-key-of-this-hub", "tcis": TcisSettings(secret="tcis-secret")}


@pytest.fixture
async def production(db_url: str) -> AsyncIterator[CardWorld]:
    world = await make_world(db_url, **PRODUCTION, card_push_allowed=["10.9.0.0/16", "push.internal"])
    yield world
    await world.container.close()


async def _configure(world: CardWorld, url: str) -> None:
    await card_lifecycle.configure_program(hub=world.hub, merchant_id=world.merchant_id, push_url=url,
                                           push_secret=SECRET)


@pytest.mark.parametrize("url, code", [
    ("http://8.8.8.8/push", "PUSH_URL_NOT_HTTPS"),
    ("ftp://8.8.8.8/push", "PUSH_URL_INVALID"),
    ("https:///push", "PUSH_URL_INVALID"),
    ("https://8.8.8.8:99999/push", "PUSH_URL_INVALID"),
    ("https://127.0.0.1/push", "PUSH_URL_PRIVATE"),
    ("https://localhost:8443/push", "PUSH_URL_PRIVATE"),
    ("https://2130706433/push", "PUSH_URL_PRIVATE"),  # 127.0.0.1 written as one number
    ("https://[::1]/push", "PUSH_URL_PRIVATE"),
    ("https://[::ffff:127.0.0.1]/push", "PUSH_URL_PRIVATE"),
    ("https://0.0.0.0/push", "PUSH_URL_PRIVATE"),
    ("https://10.0.0.5/push", "PUSH_URL_PRIVATE"),
    ("https://192.168.1.20/push", "PUSH_URL_PRIVATE"),
    ("https://169.254.169.254/latest/meta-data", "PUSH_URL_PRIVATE"),
    ("https://[fe80::1]/push", "PUSH_URL_PRIVATE"),
    ("https://224.0.0.1/push", "PUSH_URL_PRIVATE"),
    ("https://no-such-host.invalid/push", "PUSH_URL_UNRESOLVABLE"),
])
async def test_outside_demo_only_https_to_public_or_allowed_targets(production: CardWorld, url: str, code: str) -> None:
    with expect(code):
        await _configure(production, url)
    async with production.hub.uow(read_only=True) as uow:
        assert await uow.cards.program(merchant_id=production.merchant_id) is None


@pytest.mark.parametrize("url", ["https://8.8.8.8/push", "https://10.9.3.4:8443/push", "https://push.internal/hook",
                                 "https://PUSH.internal./hook"])
async def test_public_and_configured_targets_are_taken(production: CardWorld, url: str) -> None:
    await _configure(production, url)
    async with production.hub.uow(read_only=True) as uow:
        program = await uow.cards.program(merchant_id=production.merchant_id)
    assert program is not None and program.push_url == url


async def test_demo_mode_takes_the_loopback_push_receiver_but_no_other_private_target(world: CardWorld) -> None:
    for url in ("http://127.0.0.1:8000/sandbox/push/push", "http://localhost:8000/sandbox/push/push"):
        await _configure(world, url)
    with expect("PUSH_URL_PRIVATE"):
        await _configure(world, "http://10.0.0.5/push")


async def test_a_push_to_a_refused_target_is_never_sent() -> None:
    """A URL stored before these checks (or a name that now resolves elsewhere) is checked again at each push."""
    receiver = PushReceiver(secret=SECRET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as http:
        notifier = HttpNotifier(http=http, targets=PushTargets(allow_http=False, allowed=()))
        with pytest.raises(PushFailed):
            await notifier.push(url="https://127.0.0.1/push", secret=SECRET, event_id="E1", body=b"{}")
        allowed = HttpNotifier(http=http, targets=PushTargets(allow_http=False, allowed=("127.0.0.0/8",)))
        assert await allowed.push(url="https://127.0.0.1/push", secret=SECRET, event_id="E2", body=b"{}") == 200
    assert list(receiver.events) == ["E2"]
