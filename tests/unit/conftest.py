"""Unit tests run the services against the in-memory fakes; no database, no network."""
from __future__ import annotations

import pytest

from .world import World, build_world


@pytest.fixture
def world() -> World:
    return build_world()
