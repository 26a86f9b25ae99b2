"""The terminal signature check of every /api request, as ASGI middleware: it runs before a route parses or
validates anything, so an unauthenticated caller gets 401 (never a 422 about a body nobody vouched for), and it
checks the raw path and query string exactly as they came over the wire. A write request's nonce is stored by its
first commit (kernel/services/request_nonces.py), or just before its answer when it committed nothing."""
from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from payhub.kernel.domain import terminal_signature as sig
from payhub.kernel.domain.errors import PayhubError, Unauthorized
from payhub.kernel.domain.tenancy import Terminal
from payhub.api.errors import STATUS, error_body, locale_of
from payhub.api.limits import body_or_refusal, replaying
from payhub.kernel.services import auth, request_nonces
from payhub.kernel.services.request_nonces import PendingNonce
from payhub.kernel.services.context import Hub

log = logging.getLogger(__name__)
SIGNED_PREFIX = "/api/"
TERMINAL = "payhub.terminal"  # the scope key the checked terminal is handed on under
READS = frozenset({"GET", "HEAD", "OPTIONS"})  # their nonce is stored before they run: they commit nothing


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
            terminal, nonce = await auth.admit_terminal(hub=self.hub, request=auth.SignedRequest(
                terminal_code=request.headers.get(sig.HEADER_TERMINAL),
                timestamp=request.headers.get(sig.HEADER_TIMESTAMP), nonce=request.headers.get(sig.HEADER_NONCE),
                signature=request.headers.get(sig.HEADER_SIGNATURE), method=scope["method"],
                path=signed_target(scope), body=body,
            ))
            if scope["method"] in READS:
                await auth.store_nonce(hub=self.hub, nonce=nonce)
        except PayhubError as error:
            await self._refuse(error, request, scope, receive, send)
            return
        except OperationalError as error:
            await self._unavailable(error, request, scope, receive, send)
            return
        scope[TERMINAL] = terminal  # in place: outer middleware read what the router adds to this scope
        serving = request_nonces.defer(nonce)
        try:
            await self.app(scope, replaying(body, receive), self._nonce_stored_first(nonce, request, scope, receive, send))
        finally:
            request_nonces.served(serving)

    def _nonce_stored_first(self, nonce: PendingNonce, request: Request, scope: Scope, receive: Receive,
                            send: Send) -> Send:
        """send, except that the answer to a request that committed nothing waits until its nonce is stored; a
        replay found then is refused instead of answered."""
        replaced = False

        async def sending(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and not (nonce.stored or nonce.storing):
                try:
                    await auth.store_nonce(hub=self.hub, nonce=nonce)
                except PayhubError as error:
                    replaced = True
                    await self._refuse(error, request, scope, receive, send)
                except OperationalError as error:
                    replaced = True
                    await self._unavailable(error, request, scope, receive, send)
            if not replaced:
                await send(message)

        return sending

    @staticmethod
    async def _refuse(error: PayhubError, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = JSONResponse(error_body(code=error.code, locale=locale_of(request), params=error.params),
                               status_code=STATUS[error.kind])
        await refusal(scope, receive, send)

    @staticmethod
    async def _unavailable(error: OperationalError, request: Request, scope: Scope, receive: Receive,
                           send: Send) -> None:
        log.error("database unavailable: %s", type(error.orig).__name__)
        unavailable = JSONResponse(error_body(code="INTERNAL", locale=locale_of(request)), status_code=503)
        await unavailable(scope, receive, send)
