"""/docs and /redoc work on a network without internet: every script, style sheet and icon they load is the hub's."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from payhub.api.app import create_app
from payhub.bootstrap import build
from payhub.config import Settings


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(build(Settings(demo=True, database_url=f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")),
                     embedded_worker=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        yield client


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
async def test_the_docs_pages_load_only_the_hubs_own_files(http: httpx.AsyncClient, page: str, script: str) -> None:
    html = (await http.get(page)).text
    assert "http://" not in html and "https://" not in html, html
    loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(url.endswith(script) for url in loaded), loaded
    for url in loaded:
        assert url.startswith("/"), url
        answer = await http.get(url)
        assert answer.status_code == 200 and len(answer.content) > 1000, url
    assert "url: '/openapi.json'" in html or "spec-url=\"/openapi.json\"" in html
