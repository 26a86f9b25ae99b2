"""The terminal signature check of every /api request, as ASGI middleware: it runs before a route parses or
validates anything, so an unauthenticated caller gets 401 (never a 422 about a body nobody vouched for), and it
checks the raw path and query string exactly as they came over the wire."""
from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from payhub.kernel.domain import terminal_signature as sig
from payhub.kernel.domain.errors import PayhubError, Unauthorized
from payhub.kernel.domain.tenancy import Terminal
from payhub.api.errors import STATUS, error_body, locale_of
from payhub.api.limits import body_or_refusal, replaying
from payhub.kernel.services import auth
from payhub.kernel.services.context import Hub

log = logging.getLogger(__name__)
SIGNED_PREFIX = "/api/"
TERMINAL = "payhub.terminal"  # the scope key the checked terminal is handed on under


def signed_target(scope: Scope) -> str:
    """The path (still percent-encoded) and query string as the client sent them: what it signed."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string") or b""
    return (raw + b"?" + query if query else raw).decode("utf-8", "replace")


def terminal_of(scope: Scope) -> Terminal:
    """The terminal SignedRequests let in; Unauthorized when the request never went through it."""
    terminal: Terminal | None = scope.get(TERMINAL)
    if terminal is None:
        raise Unauthorized("SIGNATURE_REQUIRED")
    return terminal


class SignedRequests:
    """Refuses /api requests without a valid terminal signature; hands the terminal on to the route's dependencies.
    Add it inside any middleware that limits or buffers bodies: it reads the body from whatever receive it is given."""

    def __init__(self, app: ASGIApp, *, hub: Hub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(SIGNED_PREFIX):
            await self.app(scope, receive, send)
            return
        body = await body_or_refusal(scope, receive, send)
        if body is None:
            return
        request = Request(scope)
        try:
            terminal = await auth.authenticate_terminal(hub=self.hub, request=auth.SignedRequest(
                terminal_code=request.headers.get(sig.HEADER_TERMINAL),
                timestamp=request.headers.get(sig.HEADER_TIMESTAMP), nonce=request.headers.get(sig.HEADER_NONCE),
                signature=request.headers.get(sig.HEADER_SIGNATURE), method=scope["method"],
                path=signed_target(scope), body=body,
            ))
        except PayhubError as error:
            refusal = JSONResponse(error_body(code=error.code, locale=locale_of(request), params=error.params),
                                   status_code=STATUS[error.kind])
            await refusal(scope, receive, send)
            return
        except OperationalError as error:
            log.error("database unavailable: %s", type(error.orig).__name__)
            unavailable = JSONResponse(error_body(code="INTERNAL", locale=locale_of(request)), status_code=503)
            await unavailable(scope, receive, send)
            return
        scope[TERMINAL] = terminal  # in place: outer middleware read what the router adds to this scope
        await self.app(scope, replaying(body, receive), send)
