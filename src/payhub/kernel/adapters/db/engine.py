"""Engines for the one database URL: SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE for writes.

Bound values never appear in errors or logs (hide_parameters): they hold names, card data and password hashes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


@dataclass(frozen=True)
class Database:
    """A write engine and a read engine. On SQLite both are on the one file, writes beginning IMMEDIATE; on
    PostgreSQL the read engine's connections stay in autocommit, for reads and for lone writes that need no
    transaction around them, so no checkout sets an isolation level and no check-in resets it."""

    write: AsyncEngine
    read: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.write.dialect.name

    async def dispose(self) -> None:
        await self.write.dispose()
        if self.read is not self.write:
            await self.read.dispose()


def sync_url(url: str) -> str:
    """The same database for synchronous tools (Alembic)."""
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder a SQLite file lives in."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def open_database(url: str, *, pool_size: int = 20) -> Database:
    """Engines for url; creates the folder of a SQLite file."""
    ensure_sqlite_folder(url)
    if make_url(url).get_backend_name() == "sqlite":
        return Database(write=_sqlite_engine(url, immediate=True), read=_sqlite_engine(url, immediate=False))
    # no pre-ping: it doubles the round trips of every checkout; stale connections are recycled instead
    write = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size // 4, pool_recycle=1800,
                                hide_parameters=True)
    read = create_async_engine(url, pool_size=_read_pool(pool_size), max_overflow=0, pool_recycle=1800,
                               hide_parameters=True, isolation_level="AUTOCOMMIT")
    return Database(write=write, read=read)


def _read_pool(pool_size: int) -> int:
    return max(pool_size // 2, 1)


def most_connections(pool_size: int) -> int:
    """The PostgreSQL connections open_database(pool_size=…) may hold at once (both engines' pools and overflow)."""
    return pool_size + pool_size // 4 + _read_pool(pool_size)
