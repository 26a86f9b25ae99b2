"""Input hygiene at the door, as pure ASGI middleware: body sizes per route, and no NUL characters anywhere.

Both read the body at most up to the route's limit and hand it on unchanged, so they compose with each other
and with whatever runs inside (terminal authentication, validation); BodyLimit belongs outermost.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.requests import Request

from payhub.api.errors import error_body, locale_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

KIB = 1024
# by path prefix, first match wins; a channel's notify is a few hundred bytes of XML
BODY_LIMITS = (("/notify/", 16 * KIB), ("/api/", 64 * KIB))
DEFAULT_BODY_LIMIT = 64 * KIB
# an odd run of backslashes before u0000 is the JSON escape of NUL; an even run is literal text
JSON_NUL = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000")


class BodyTooLarge(Exception):
    """The body passed its route's limit while it was being read."""


async def refuse(scope: Scope, send: Send, *, status: int, code: str, **params: object) -> None:
    """Answer with the hub's JSON error, in the caller's language."""
    request = Request(scope)
    await JSONResponse(error_body(code=code, locale=locale_of(request), params=params), status_code=status)(
        scope, _no_body, send
    )


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


async def read_body(receive: Receive, *, limit: int) -> bytes | None:
    """The whole body, or BodyTooLarge as soon as it passes limit; None if the client went away."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
        if not message.get("more_body", False):
            return body


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body already read, then whatever the client sends next (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def limit_for(path: str) -> int:
    return next((limit for prefix, limit in BODY_LIMITS if path.startswith(prefix)), DEFAULT_BODY_LIMIT)


async def body_or_refusal(scope: Scope, receive: Receive, send: Send) -> bytes | None:
    """The body within its route's limit; None once 413 BODY_TOO_LARGE was answered or the client went away."""
    limit = limit_for(scope["path"])
    try:
        return await read_body(receive, limit=limit)
    except BodyTooLarge:
        await refuse(scope, send, status=413, code="BODY_TOO_LARGE", limit=limit)
        return None


class BodyLimit:
    """Refuses (413 BODY_TOO_LARGE) a body above its route's limit: by Content-Length at once, else as it streams in."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return await refuse(scope, send, status=413, code="BODY_TOO_LARGE", limit=limit)
        body = await body_or_refusal(scope, receive, send)
        if body is not None:
            await self.app(scope, replaying(body, receive), send)


class NoNulCharacters:
    """Refuses (400 NUL_CHARACTER) a NUL in the path, the query or a JSON body: PostgreSQL cannot store one."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            return await refuse(scope, send, status=400, code="NUL_CHARACTER")
        content_type = Headers(scope=scope).get("content-type")
        if content_type and "json" not in content_type:  # FastAPI reads a body without a type as JSON too
            return await self.app(scope, receive, send)
        body = await body_or_refusal(scope, receive, send)
        if body is None:
            return None
        if JSON_NUL.search(body):
            return await refuse(scope, send, status=400, code="NUL_CHARACTER")
        return await self.app(scope, replaying(body, receive), send)
