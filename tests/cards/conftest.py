"""A hub on a fresh database for the card tests: real repositories, a manual clock, a fast password hasher."""
from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from payhub.kernel.adapters.clock import ManualClock
from payhub.bootstrap import Container, build
from payhub.config import Settings
from payhub.cards.domain.money import MAX_AMOUNT
from payhub.cards.domain.cards import CardKind, luhn_digit
from payhub.kernel.domain.errors import PayhubError
from payhub.kernel.services import admin
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.kernel.services.context import Hub
from tests.support.harness import Harness
from tests.unit.fakes import PlainHasher

START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
PASSWORD = "123456"


def card_no(n: int) -> str:
    """A valid 16-digit card number."""
    body = f"880000{n:09d}"
    return body + luhn_digit(body)


@dataclasses.dataclass
class CardWorld:
    container: Container
    hub: Hub
    clock: ManualClock
    merchant_id: int

    async def open_card(self, n: int, *, phone: str = "13800000000") -> str:
        account = await card_lifecycle.open_account(hub=self.hub, merchant_id=self.merchant_id, holder_name="张三",
                                                    phone=phone, pay_password=PASSWORD)
        number = card_no(n)
        await card_lifecycle.open_card(hub=self.hub, merchant_id=self.merchant_id, account_no=account.account_no,
                                       card_no=number, kind=CardKind.PHYSICAL, actor="test")
        await card_lifecycle.audit(hub=self.hub, merchant_id=self.merchant_id, card_no=number, actor="test")
        await card_lifecycle.activate(hub=self.hub, merchant_id=self.merchant_id, card_no=number, actor="test")
        return number


async def make_world(db_url: str, **settings: object) -> CardWorld:
    clock = ManualClock(START)
    container = build(Settings(**({"demo": True} | settings), database_url=db_url), clock=clock)
    hub = dataclasses.replace(container.hub, passwords=PlainHasher())
    container.hub = hub
    merchant = await admin.create_merchant(hub=hub, code="ISSUER", name="发卡商户")
    for code in ("SHOP1", "SHOP2", "ONLINE"):
        await card_lifecycle.add_card_merchant(hub=hub, merchant_id=merchant.id, code=code, name=code)
    for code in ("SHOP1", "SHOP2"):  # the shops take offline consumes without PIN: tests of money, not of PINs
        await card_lifecycle.set_pinless_offline(hub=hub, merchant_id=merchant.id, code=code, max_amount=MAX_AMOUNT)
    return CardWorld(container, hub, clock, merchant.id)


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[CardWorld]:
    w = await make_world(db_url)
    yield w
    await w.container.close()


class expect:
    """`with expect("CODE"):` — the block raises a PayhubError with this code."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.error: PayhubError | None = None

    def __enter__(self) -> expect:
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, _tb: object) -> bool:
        assert isinstance(error, PayhubError), f"expected {self.code}, got {error!r}"
        assert error.code == self.code, f"expected {self.code}, got {error.code}"
        self.error = error
        return True


@pytest.fixture
async def hub(db_url: str) -> AsyncIterator[Harness]:
    """The whole hub with its sandboxes (the e2e harness), seeded with merchant M1."""
    harness = Harness(db_url)
    await harness.seed()
    yield harness
    await harness.stop()
