"""The payment channels the hub can use, by name, and the biller names merchants may give."""
from __future__ import annotations

from collections.abc import Iterable

from payhub.kernel.domain.errors import InvalidInput
from payhub.kernel.ports import PaymentChannel


class AdapterRegistry:
    def __init__(self, *, channels: dict[str, PaymentChannel], billers: Iterable[str]) -> None:
        self._channels = channels
        self._billers = frozenset(billers)

    def add_channel(self, channel: PaymentChannel) -> None:
        """Register a channel built after the hub (the card channel works through the hub's own services)."""
        self._channels[channel.name] = channel

    def channel(self, name: str) -> PaymentChannel:
        if name not in self._channels:
            raise InvalidInput("VALIDATION", detail=f"未知支付渠道：{name}")
        return self._channels[name]

    def has_biller(self, name: str) -> bool:
        return name in self._billers
