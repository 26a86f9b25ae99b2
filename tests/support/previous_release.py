"""The databases the previous release made (tests/fixtures/previous_release): fresh copies to upgrade, and what they hold."""
from __future__ import annotations

import glob
import json
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "previous_release"
SQLITE_FIXTURE = FIXTURES / "payhub-0006.sqlite3"
PG_DUMP = FIXTURES / "payhub-0006.pg.sql"
MANIFEST = FIXTURES / "manifest.json"
REVISION = "0006"  # the newest migration of the release that made them


@dataclass(frozen=True, slots=True)
class OldRefund:
    """A refund as the previous release left it."""

    refund_no: str
    state: str
    amount: int
    automatic: bool


@dataclass(frozen=True, slots=True)
class OldOrder:
    """A bill order as the previous release left it, with its refunds and the kinds of its pending jobs."""

    order_no: str
    merchant: str
    state: str
    amount: int
    pay_method: str | None
    fee_type: str
    account_no: str
    bill_ids: tuple[str, ...]
    refunds: tuple[OldRefund, ...]
    pending_jobs: tuple[str, ...]


def load_manifest() -> list[OldOrder]:
    """Every order in the fixtures (the same in both engines' databases), by order no."""
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return [
        OldOrder(
            order_no=row["order_no"], merchant=row["merchant"], state=row["state"], amount=row["amount"],
            pay_method=row["pay_method"], fee_type=row["fee_type"], account_no=row["account_no"],
            bill_ids=tuple(row["bill_ids"]), refunds=tuple(OldRefund(**refund) for refund in row["refunds"]),
            pending_jobs=tuple(row["pending_jobs"]),
        )
        for row in data["orders"]
    ]


def sqlite_copy(*, tmp_path: Path) -> str:
    """A copy of the SQLite fixture under tmp_path; returns its SQLAlchemy URL."""
    path = tmp_path / SQLITE_FIXTURE.name
    shutil.copyfile(SQLITE_FIXTURE, path)
    return f"sqlite+aiosqlite:///{path}"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _with_db(url: str, dbname: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + dbname


def _version(psql: str) -> tuple[int, ...]:
    return tuple(int(part) for part in Path(psql).parts[-3].split("."))


def _psql() -> str:
    server_clients = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"), key=_version)
    found = shutil.which("psql") or (server_clients[-1] if server_clients else None)
    if found is None:
        raise RuntimeError("psql not found: apt-get install postgresql-client")
    return found


def postgres_copy(*, server_url: str) -> str:
    """A new database on the server of server_url with the PostgreSQL fixture loaded; returns its SQLAlchemy URL."""
    name = f"prev_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = _with_db(server_url, name)
    # \restrict lines guard a live dump's restore; psql clients older than 2025-08 do not know them
    script = "".join(line for line in PG_DUMP.read_text(encoding="utf-8").splitlines(keepends=True)
                     if not line.startswith(("\\restrict", "\\unrestrict")))
    subprocess.run([_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", _libpq(url)], input=script, text=True,
                   check=True, capture_output=True)
    return url


def drop_postgres(*, url: str) -> None:
    """Drop a database postgres_copy made."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_libpq(_with_db(url, "postgres")), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
