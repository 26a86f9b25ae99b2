"""Databases for the tests: a fresh SQLite file, and a fresh PostgreSQL database cloned from a migrated template.

PostgreSQL tests run when PAYHUB_TEST_PG_URL names a server (scripts/test.sh starts one); CI sets
PAYHUB_REQUIRE_PG=1 so that a missing server fails the run instead of skipping.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from payhub.adapters.db.migrate import upgrade

PG_URL = os.environ.get("PAYHUB_TEST_PG_URL")  # e.g. postgresql+psycopg://postgres@127.0.0.1:55432/postgres
TEMPLATE = "payhub_template"


def _libpq(url: str, dbname: str | None = None) -> str:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    if dbname:
        plain = plain.rsplit("/", 1)[0] + "/" + dbname
    return plain


def _with_db(url: str, dbname: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + dbname


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(url=f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> str | None:
    if not PG_URL:
        if os.environ.get("PAYHUB_REQUIRE_PG"):
            pytest.fail("PAYHUB_REQUIRE_PG is set but PAYHUB_TEST_PG_URL is not")
        return None
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    upgrade(url=_with_db(PG_URL, TEMPLATE))
    return TEMPLATE


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each engine."""
    if request.param == "sqlite":
        path = tmp_path / "payhub.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    if template is None:
        pytest.skip("no PostgreSQL (set PAYHUB_TEST_PG_URL)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield _with_db(PG_URL, name)
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
