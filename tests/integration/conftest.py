from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from payhub.kernel.adapters.db.engine import Database, open_database
from payhub.kernel.adapters.db.uow import SqlUnitOfWorkFactory

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = open_database(db_url)
    yield db
    await db.dispose()


@pytest.fixture
def uow(database: Database) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(database)


@pytest.fixture
async def merchant_id(uow: SqlUnitOfWorkFactory) -> int:
    async with uow() as tx:
        merchant = await tx.tenancy.add_merchant(code="M1", name="商户", channel="swiftpass", biller="tcis", at=NOW)
        await tx.commit()
    return merchant.id
