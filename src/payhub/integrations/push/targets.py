"""Where card pushes may go: HTTPS (plain HTTP only in demo mode) to hosts whose every address is public, unless a
host name or network is allowed by configuration. The demo allows loopback, where its push receiver sandbox runs."""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from payhub.kernel.domain.errors import InvalidInput

LOOPBACK = ("127.0.0.0/8", "::1/128")
RESOLVE_SECONDS = 5.0
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def _public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class PushTargets:
    """The push URL rule; allowed holds host names and IP networks (CIDR) allowed although not public."""

    allow_http: bool = False
    allowed: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, *, demo: bool, allowed: list[str]) -> PushTargets:
        """The rule of a hub: demo mode takes HTTP and loopback (its push receiver sandbox) besides `allowed`."""
        return cls(allow_http=demo, allowed=tuple(allowed) + (LOOPBACK if demo else ()))

    async def check(self, url: str) -> None:
        """Refuse the URL (InvalidInput) unless pushes may go there; resolves its host name."""
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port
        except ValueError:
            raise InvalidInput("PUSH_URL_INVALID") from None
        if parts.scheme not in ("https", "http") or not host or parts.username is not None:
            raise InvalidInput("PUSH_URL_INVALID")
        if parts.scheme == "http" and not self.allow_http:
            raise InvalidInput("PUSH_URL_NOT_HTTPS")
        host = host.rstrip(".")
        if host in {entry.lower().rstrip(".") for entry in self.allowed}:
            return
        for address in await _addresses(host, port or (443 if parts.scheme == "https" else 80)):
            if not (_public(address) or any(address in network for network in self._networks())):
                raise InvalidInput("PUSH_URL_PRIVATE", host=host)

    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [network for entry in self.allowed if (network := _network(entry)) is not None]


async def _addresses(host: str, port: int) -> list[IpAddress]:
    """Every address the host resolves to (an IP literal, in any notation the resolver takes, to itself)."""
    try:
        found = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
                                       RESOLVE_SECONDS)
    except (OSError, UnicodeError, ValueError, TimeoutError):
        raise InvalidInput("PUSH_URL_UNRESOLVABLE", host=host) from None
    return [ipaddress.ip_address(str(sockaddr[0]).split("%")[0]) for *_, sockaddr in found]
