"""The worker's purges of old nonces and sign-in audit rows find them through an index on their age, however large
the tables grow (PostgreSQL's plans; SQLite has one process and small tables)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from payhub.kernel.adapters.db.engine import Database
from payhub.kernel.adapters.db.uow import SqlUnitOfWorkFactory
from tests.integration.conftest import NOW
from tests.support.statements import listening


async def test_the_purges_by_age_seek_through_an_index(database: Database, uow: SqlUnitOfWorkFactory) -> None:
    if database.dialect != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    deletes: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append((statement, parameters))

    with listening([database.write.sync_engine], record):
        async with uow() as tx:
            await tx.tenancy.forget_nonces(before=NOW - timedelta(minutes=10))
            await tx.tenancy.forget_sign_in_audit(before=NOW - timedelta(days=180))
            await tx.commit()
    assert len(deletes) == 2, deletes
    async with database.write.connect() as conn:
        await conn.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: ask which plans exist, not cost
        for statement, parameters in deletes:
            plan = "\n".join(row[0] for row in await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
            assert "Seq Scan" not in plan and "Index Cond" in plan, plan
            assert "merchant_at" not in plan, plan  # not a whole scan of the (merchant_id, at) index
        await conn.rollback()
