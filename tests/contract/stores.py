"""Every UnitOfWork implementation for the repository contract suites (test_*_repository.py): the in-memory fakes
of tests/unit and the SQL repositories on SQLite and PostgreSQL. A case passes on all three or the fake drifted."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from payhub.kernel.adapters.db.engine import open_database
from payhub.cards.adapters.db.uow import SqlCardUnitOfWorkFactory
from payhub.kernel.domain.tenancy import Merchant, Operator, Terminal
from payhub.kernel.ports import UnitOfWorkFactory
from tests.conftest import migrated_database
from tests.unit.fakes import FakeDatabase, FakeUnitOfWorkFactory

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
STORES = ("fake", "sqlite", "postgresql")


@dataclass(frozen=True)
class Tenant:
    """A merchant with one terminal, an operator and a supervisor, written through the tenancy port."""

    merchant: Merchant
    terminal: Terminal
    operator: Operator
    supervisor: Operator


async def add_tenant(uow: UnitOfWorkFactory, code: str = "M1") -> Tenant:
    """A new tenant whose codes start with code."""
    async with uow() as tx:
        merchant = await tx.tenancy.add_merchant(code=code, name="商户", channel="fakepay", biller="fakebill", at=NOW)
        terminal = await tx.tenancy.add_terminal(merchant_id=merchant.id, code=f"{code}-T1", name="一号柜台",
                                                 key_sealed="sealed:k", at=NOW)
        operator = await tx.tenancy.add_operator(merchant_id=merchant.id, username="li", display_name="李柜员",
                                                 role="operator", password_hash="h-li", at=NOW)
        supervisor = await tx.tenancy.add_operator(merchant_id=merchant.id, username="wang", display_name="王主管",
                                                   role="supervisor", password_hash="h-wang", at=NOW)
        await tx.commit()
    return Tenant(merchant, terminal, operator, supervisor)


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
    """A unit-of-work factory over an empty store of each implementation."""
    if request.param == "fake":
        yield FakeUnitOfWorkFactory(FakeDatabase())
        return
    with contextmanager(migrated_database)(request.param, request=request, tmp_path=tmp_path) as url:
        database = open_database(url)
        try:
            yield SqlCardUnitOfWorkFactory(database)
        finally:
            await database.dispose()
