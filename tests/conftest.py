"""Databases for the tests: a fresh SQLite file, and a fresh PostgreSQL database cloned from a migrated template.

PostgreSQL tests run when PAYHUB_TEST_PG_URL names a server (scripts/test.sh starts one); CI sets
PAYHUB_REQUIRE_PG=1 so that a missing server fails the run instead of skipping.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from payhub.kernel.adapters.db.migrate import upgrade

PG_URL = os.environ.get("PAYHUB_TEST_PG_URL")  # e.g. postgresql+psycopg://postgres@127.0.0.1:55432/postgres
TEMPLATE = f"payhub_template_{os.getpid()}"  # one per test process, so parallel runs never share it


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
def pg_template() -> Iterator[str | None]:
    if not PG_URL:
        if os.environ.get("PAYHUB_REQUIRE_PG"):
            pytest.fail("PAYHUB_REQUIRE_PG is set but PAYHUB_TEST_PG_URL is not")
        yield None
        return
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    upgrade(url=_with_db(PG_URL, TEMPLATE))
    yield TEMPLATE
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each engine."""
    yield from migrated_database(request.param, request=request, tmp_path=tmp_path)


def migrated_database(engine: str, *, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a migrated, empty database of engine ("sqlite" or "postgresql"), dropped afterwards."""
    if engine == "sqlite":
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


# Secrets the tests hand to the hub: none may show up in anything logged during the run, by this process or
# by a hub it started (those write *.log files under the run's temporary folder).
KNOWN_SECRETS = (
    "e2e-swiftpass-key", "e2e-terminal-key", "e2e-tcis-secret", "kill-test-md5-key", "kill-test-tcis-secret",
    "sandbox-md5-key-0123456789abcdef", "another-merchants-key", "tcis-test-secret", "receiver-secret-0123456789",
    "card-terminal-key", "192006250b4c09247ec02edce69f6a2d", "op1-pass", "op2-pass", "sup1-pass", "adm1-pass",
    "adm-pass", "demo-terminal-key-0001", "$argon2",
)
# six-digit PINs are too common as plain numbers; they count as leaked next to a password-like name
SECRET_IN_TEXT = re.compile("|".join(map(re.escape, KNOWN_SECRETS)) + r"|(?i:pin|password)\W{1,6}[0-9]{6}(?![0-9])")


class SecretSpotter(logging.Handler):
    """Remembers every logged line that contains a known secret."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        if found := SECRET_IN_TEXT.search(text):
            self.leaks.append(f"{record.name}: {found.group(0)!r} in {text[:400]!r}")


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fails the run if any known secret was logged (the hub's own loggers are on at INFO)."""
    spotter, root = SecretSpotter(), logging.getLogger()
    level = root.level
    root.addHandler(spotter)
    if level > logging.INFO:
        root.setLevel(logging.INFO)
    yield
    root.removeHandler(spotter)
    root.setLevel(level)
    for path in tmp_path_factory.getbasetemp().rglob("*.log"):
        spotter.leaks += [f"{path}: {m.group(0)!r}" for m in SECRET_IN_TEXT.finditer(path.read_text(errors="replace"))]
    if spotter.leaks:
        pytest.fail("secrets in the logs:\n" + "\n".join(spotter.leaks[:20]), pytrace=False)
