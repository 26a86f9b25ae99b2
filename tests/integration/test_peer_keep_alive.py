"""The hub's clients for far systems drop idle connections before the peer does.

The peer here closes a connection idle for its keep-alive timeout (5 s, uvicorn's default); a request already
on its way when that happens is lost without an answer. A real server does this only in a short race window;
this peer makes the window explicit: a request arriving in the last half second before the timeout is lost.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from payhub.bootstrap import peer_http

PEER_KEEP_ALIVE = 5.0  # seconds, uvicorn's default timeout_keep_alive
RACE_WINDOW = 0.5      # a request arriving this close to the timeout crosses the peer's close
PAUSE = PEER_KEEP_ALIVE - RACE_WINDOW + 0.2


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    idle_since = time.monotonic()
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            if time.monotonic() - idle_since > PEER_KEEP_ALIVE - RACE_WINDOW:
                break  # closing on keep-alive timeout as the request arrives: no answer
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
            await writer.drain()
            idle_since = time.monotonic()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def peer_url() -> AsyncIterator[str]:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/"


async def test_a_connection_left_idle_near_the_peers_keep_alive_is_not_reused(peer_url: str) -> None:
    async with peer_http(timeout=5) as http:
        assert (await http.get(peer_url)).text == "ok"
        await asyncio.sleep(PAUSE)
        assert (await http.get(peer_url)).text == "ok"
