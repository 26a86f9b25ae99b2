"""Telling database errors apart on both engines."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from payhub.kernel.domain.errors import PayhubError


def is_unique_violation(error: DBAPIError) -> bool:
    """True for a duplicate key (SQLite's UNIQUE constraint, PostgreSQL's 23505)."""
    if not isinstance(error, IntegrityError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate == "23505" or "UNIQUE constraint failed" in str(error.orig)


CONTENTION_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


def is_contention(error: BaseException | None) -> bool:
    """True when the database rolled the transaction back to break a deadlock or a serialization conflict."""
    if not isinstance(error, DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) in CONTENTION_SQLSTATES or "database is locked" in str(error.orig)


@asynccontextmanager
async def duplicate_as(conn: AsyncConnection, conflict: PayhubError) -> AsyncIterator[None]:
    """Run the block in a savepoint; a duplicate key raises `conflict` and leaves the transaction usable."""
    try:
        async with conn.begin_nested():
            yield
    except IntegrityError as error:
        if is_unique_violation(error):
            raise conflict from None
        raise
