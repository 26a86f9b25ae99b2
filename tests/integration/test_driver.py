"""The hot statements on psycopg directly (kernel/adapters/db/driver.py) answer as SQLAlchemy would: the same rows,
looked up the same ways, the same errors, the same conversions of bound values, inside the unit of work's
transaction."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from payhub.kernel.adapters.db import driver
from payhub.kernel.adapters.db.driver import DriverQuery
from payhub.kernel.adapters.db.engine import open_database
from payhub.kernel.adapters.db.tables import merchants, terminals
from payhub.kernel.adapters.pg_notifications import libpq_url
from tests.conftest import migrated_database

pytestmark = pytest.mark.postgres

AT = datetime(2026, 12, 1, 20, 0, tzinfo=timezone(timedelta(hours=8)))
_TERMINALS_WITH_MERCHANT = (
    sa.select(terminals, merchants).join(merchants, merchants.c.id == terminals.c.merchant_id)
    .where(terminals.c.code == sa.bindparam("code")))
_QUERY = DriverQuery(_TERMINALS_WITH_MERCHANT)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from migrated_database("postgresql", request=request, tmp_path=tmp_path)


async def _seed(url: str) -> None:
    database = open_database(url)
    async with database.write.begin() as conn:
        merchant_id = (await conn.execute(sa.insert(merchants).values(
            code="M1", name="商户", channel="swiftpass", biller="tcis", active=True, created_at=AT, updated_at=AT,
        ).returning(merchants.c.id))).scalar_one()
        await conn.execute(sa.insert(terminals).values(merchant_id=merchant_id, code="T1", name="一号柜台",
                                                       key_sealed="k", active=True, created_at=AT, updated_at=AT))
    await database.dispose()


async def test_a_driver_query_answers_with_the_rows_sqlalchemy_gives(pg_url: str) -> None:
    await _seed(pg_url)
    database = open_database(pg_url)
    try:
        async with database.write.connect() as conn:
            ours = await _QUERY.rows(conn, code="T1")
            theirs = (await conn.execute(_TERMINALS_WITH_MERCHANT, {"code": "T1"})).all()
    finally:
        await database.dispose()
    [row], [expected] = ours, theirs
    for column in _TERMINALS_WITH_MERCHANT.selected_columns:  # by column object, both tables' "id" apart
        assert row._mapping[column] == expected._mapping[column], column
    assert row.key_sealed == "k" and row._mapping["key_sealed"] == "k"  # by unambiguous name
    assert "id" not in dict(row._mapping) and "name" not in dict(row._mapping)  # both tables have them
    assert row._mapping[terminals.c.created_at] == AT and row._mapping[terminals.c.created_at].utcoffset() == timedelta(0)


async def test_a_driver_statement_runs_in_the_transaction_and_raises_as_sqlalchemy_does(pg_url: str) -> None:
    await _seed(pg_url)
    database = open_database(pg_url)
    try:
        async with database.write.connect() as conn:
            await conn.begin()
            sql = "UPDATE terminals SET name = %(name)s WHERE code = %(code)s"
            assert (await driver.execute(conn, sql=sql, params={"name": "二号", "code": "T1"})).rowcount == 1
            await conn.rollback()
            assert (await conn.execute(sa.select(terminals.c.name))).scalar_one() == "一号柜台"  # rolled back with it
            await conn.rollback()
            with pytest.raises(IntegrityError):
                await driver.insert_returning_id(conn, merchants, {
                    "code": "M1", "name": "又一个", "channel": "swiftpass", "biller": "tcis", "active": True,
                    "created_at": AT, "updated_at": AT})
    finally:
        await database.dispose()


def test_bound_values_are_converted_as_their_column_types_convert_them() -> None:
    assert driver.bind(merchants.c.created_at, AT) == AT and driver.bind(merchants.c.created_at, AT).tzinfo is not None
    assert driver.bind(merchants.c.created_at, AT).utcoffset() == timedelta(0)
    with pytest.raises(ValueError):
        driver.bind(merchants.c.created_at, datetime(2026, 12, 1, 12, 0))  # naive: refused, as on SQLAlchemy's path


async def test_after_the_database_ended_its_connections_one_statement_fails_and_the_pool_starts_afresh(
        pg_url: str) -> None:
    await _seed(pg_url)
    database = open_database(pg_url, pool_size=6)
    try:
        held = [await database.read.connect() for _ in range(3)]
        for conn in held:
            await _QUERY.rows(conn, code="T1")
            await conn.close()  # three live connections wait in the pool
        with psycopg.connect(libpq_url(pg_url), autocommit=True) as admin:  # as a restart or a failover would
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")

        answers = []
        for _ in range(4):
            try:
                async with database.read.connect() as conn:
                    answers.append(len(await _QUERY.rows(conn, code="T1")))
            except OperationalError as error:
                answers.append("lost" if error.connection_invalidated else repr(error))
    finally:
        await database.dispose()
    assert answers == ["lost", 1, 1, 1], answers
