"""Request-scoped dependencies: the container, the signing terminal, the logged-in operator.

All are `async def`, cheap as they are: FastAPI runs a plain `def` dependency in its thread pool, and two thread
hand-offs per request cost more than the work itself."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from payhub.bootstrap import AppHub, Container
from payhub.kernel.domain.tenancy import Terminal
from payhub.api.signed_requests import terminal_of
from payhub.kernel.services import auth
from payhub.kernel.services.auth import Actor


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def get_hub(request: Request) -> AppHub:
    hub: AppHub = request.app.state.container.hub
    return hub


async def signed_terminal(request: Request) -> Terminal:
    """The terminal whose HMAC signature SignedRequests checked before the route parsed anything."""
    return terminal_of(request.scope)


async def current_actor(
    request: Request, hub: Annotated[AppHub, Depends(get_hub)], terminal: Annotated[Terminal, Depends(signed_terminal)],
) -> Actor:
    """The operator logged in on the signing terminal (Authorization: Bearer <token>)."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    return await auth.resolve_actor(hub=hub, terminal=terminal, token=token)


async def client_ip(request: Request) -> str:
    return request.client.host if request.client else "127.0.0.1"


HubDep = Annotated[AppHub, Depends(get_hub)]
ContainerDep = Annotated[Container, Depends(get_container)]
TerminalDep = Annotated[Terminal, Depends(signed_terminal)]
ActorDep = Annotated[Actor, Depends(current_actor)]
ClientIp = Annotated[str, Depends(client_ip)]
