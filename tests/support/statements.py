"""Listening to the SQL a hub's engines send, for tests that count statements."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

Recorder = Callable[[Any, Any, str, Any, Any, bool], None]  # SQLAlchemy's before_cursor_execute arguments


@contextmanager
def listening(engines: Iterable[sa.Engine], record: Recorder) -> Iterator[None]:
    """Call record before every statement the engines execute, until the block ends."""
    listened = set(engines)
    for engine in listened:
        sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        for engine in listened:
            sa.event.remove(engine, "before_cursor_execute", record)


def one_line(statement: str) -> str:
    """The statement with its white space folded, as the tests compare it."""
    return " ".join(statement.split())
