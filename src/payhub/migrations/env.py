"""Alembic environment: runs migrations over a synchronous connection to the configured database."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from payhub.kernel.adapters.db.engine import sync_url
from payhub.cards.adapters.db import tables as card_tables  # noqa: F401 - registers the card tables on metadata
from payhub.kernel.adapters.db.tables import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None, "payhub.kernel.adapters.db.migrate sets sqlalchemy.url"
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
