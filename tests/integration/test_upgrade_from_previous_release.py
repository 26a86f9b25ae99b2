"""A database made by the previous release (migrations up to 0006, orders in every state) upgrades in place."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from payhub.cards.adapters.db import tables as card_tables  # noqa: F401 - registers the card tables on metadata
from payhub.kernel.adapters.db.engine import open_database
from payhub.kernel.adapters.db.migrate import alembic_config, upgrade
from payhub.kernel.adapters.db.tables import metadata
from payhub.kernel.adapters.db.uow import SqlUnitOfWorkFactory
from payhub.counter.domain.bill_payment import BillPayment
from payhub.kernel.domain.orders import PAID_STATES, OrderState
from payhub.kernel.domain.refunds import RefundState
from payhub.kernel.ports import OrderView
from tests.conftest import PG_URL
from tests.support.previous_release import (
    REVISION, OldOrder, drop_postgres, load_manifest, postgres_copy, sqlite_copy,
)

# what the upgrade must carry over unchanged, as the previous release named its tables
KEPT = (
    "ledger_accounts", "journal_entries", "journal_legs",
    "card_programs", "card_limits", "funds_accounts", "cards", "card_pool", "card_merchants", "card_transactions",
    "card_usage", "card_events", "suspicious_cases", "members", "sms_codes", "recharge_orders", "card_replacements",
    "custody_settlements",
)


@dataclass(frozen=True)
class Upgraded:
    """A previous release's database after the current upgrade, what it held before, and its orders."""

    url: str
    orders: list[OldOrder]
    counts_before: dict[str, int]


def _sync(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("sqlite+aiosqlite://", "sqlite://"))


def _counts(url: str, tables: tuple[str, ...]) -> dict[str, int]:
    engine = _sync(url)
    try:
        with engine.connect() as conn:
            return {name: conn.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one() for name in tables}
    finally:
        engine.dispose()


def _revision(url: str) -> str:
    engine = _sync(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def upgraded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Upgraded]:
    """The previous release's database of each engine, upgraded by the current code as `payhub db upgrade` does."""
    if request.param == "sqlite":
        url = sqlite_copy(tmp_path=tmp_path)
    elif PG_URL:
        url = postgres_copy(server_url=PG_URL)
    elif os.environ.get("PAYHUB_REQUIRE_PG"):
        pytest.fail("PAYHUB_REQUIRE_PG is set but PAYHUB_TEST_PG_URL is not")
    else:
        pytest.skip("no PostgreSQL (set PAYHUB_TEST_PG_URL)")
    try:
        orders = load_manifest()
        assert _revision(url) == REVISION
        assert _counts(url, ("bill_orders",)) == {"bill_orders": len(orders)}
        before = _counts(url, KEPT)
        upgrade(url=url)
        yield Upgraded(url=url, orders=orders, counts_before=before)
    finally:
        if request.param == "postgresql":
            drop_postgres(url=url)


def test_upgrade_reaches_head_and_keeps_the_ledger_and_the_cards(upgraded: Upgraded) -> None:
    head = ScriptDirectory.from_config(alembic_config(url=upgraded.url)).get_current_head()
    assert _revision(upgraded.url) == head
    assert all(upgraded.counts_before[name] > 0 for name in ("ledger_accounts", "journal_entries", "cards"))
    assert _counts(upgraded.url, KEPT) == upgraded.counts_before


ORDER_STATES = {"posting": "fulfilling", "posted": "fulfilled", "post_failed": "fulfil_failed"}
REFUND_STATES = {"unposting": "undoing"}
JOB_KINDS = {"post_to_biller": "fulfil", "unpost": "undo_fulfilment"}


async def _views(url: str, numbers: list[str]) -> dict[str, OrderView]:
    database = open_database(url)
    try:
        async with SqlUnitOfWorkFactory(database)(read_only=True) as uow:
            return {no: view for no in numbers if (view := await uow.orders.view(order_no=no)) is not None}
    finally:
        await database.dispose()


def _pending_jobs(url: str, order: OldOrder) -> list[str]:
    refs = [order.order_no, *(refund.refund_no for refund in order.refunds)]
    engine = _sync(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(
                sa.select(sa.column("kind")).select_from(sa.table("jobs", sa.column("kind"), sa.column("ref"),
                                                                  sa.column("state")))
                .where(sa.column("state") == "pending", sa.column("ref").in_(refs))
            ).scalars())
    finally:
        engine.dispose()


async def test_every_old_order_resolves_by_its_number_as_a_biller_posting_in_the_kernel_s_words(
        upgraded: Upgraded) -> None:
    views = await _views(upgraded.url, [order.order_no for order in upgraded.orders])

    assert {o.state for o in upgraded.orders} >= {"created", "paying", "closing", "reversing", "closed", "paid",
                                                  "posting", "posted", "pay_failed", "post_failed", "refunding",
                                                  "refunded", "manual"}
    for old in upgraded.orders:
        view = views[old.order_no]
        order = view.order
        assert (order.kind, order.state.value, order.amount, order.product, order.account_no) == (
            "biller_posting", ORDER_STATES.get(old.state, old.state), old.amount, old.fee_type, old.account_no)
        assert BillPayment.of(order).bill_ids == old.bill_ids
        assert [p.method.value for p in order.payments] == ([old.pay_method] if old.pay_method else [])
        assert sorted((r.refund_no, r.state.value, r.amount, r.automatic) for r in view.refunds) == sorted(
            (r.refund_no, REFUND_STATES.get(r.state, r.state), r.amount, r.automatic) for r in old.refunds)
        assert (bool(view.history) or old.state == "created") and {move.to_state for move in view.history} <= (
            {s.value for s in OrderState} | {s.value for s in RefundState})
        assert _pending_jobs(upgraded.url, old) == sorted(JOB_KINDS.get(kind, kind) for kind in old.pending_jobs)


async def test_paid_orders_keep_their_trade_and_fulfilled_ones_their_posting(upgraded: Upgraded) -> None:
    views = await _views(upgraded.url, [order.order_no for order in upgraded.orders])

    for old in upgraded.orders:
        order = views[old.order_no].order
        if order.state in PAID_STATES:
            assert order.paid_payment is not None and order.paid_payment.transaction_id and order.paid_payment.paid_at
        if order.state is OrderState.FULFILLED:
            assert order.fulfilment_ref and order.fulfilled_at and order.fulfil_attempts == 1


async def test_the_upgraded_database_takes_new_orders_after_the_old_ones(upgraded: Upgraded) -> None:
    views = await _views(upgraded.url, [order.order_no for order in upgraded.orders])
    newest_old = max(view.order.id or 0 for view in views.values())
    database = open_database(upgraded.url)
    try:
        async with SqlUnitOfWorkFactory(database)() as uow:
            template = views[upgraded.orders[0].order_no].order
            new = replace(template, id=None, order_no="PH-after-upgrade", terminal_order_no="after-upgrade",
                          version=0, state=OrderState.CREATED, payments=(), saved_payments=(), transitions=[])
            await uow.orders.add(new)
            await uow.commit()
    finally:
        await database.dispose()

    assert new.id is not None and new.id > newest_old


def test_the_upgraded_schema_is_exactly_what_the_code_declares(upgraded: Upgraded) -> None:
    engine = _sync(upgraded.url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()

    assert differences == []
