"""Bringing a database to the newest schema with Alembic."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from payhub.kernel.adapters.db.engine import ensure_sqlite_folder

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(*, url: str) -> Config:
    """An Alembic config for url, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(*, url: str, revision: str = "head") -> None:
    """Apply every migration up to revision."""
    ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url=url), revision)
