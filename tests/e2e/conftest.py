from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.harness import Harness


@pytest.fixture
async def hub(db_url: str) -> AsyncIterator[Harness]:
    harness = Harness(db_url)
    await harness.seed()
    yield harness
    await harness.stop()
