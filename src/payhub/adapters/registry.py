"""The channels and billers the hub can use, by name."""
from __future__ import annotations

from payhub.domain.errors import InvalidInput
from payhub.ports import Biller, PaymentChannel


class AdapterRegistry:
    def __init__(self, *, channels: dict[str, PaymentChannel], billers: dict[str, Biller]) -> None:
        self._channels = channels
        self._billers = billers

    def add_channel(self, channel: PaymentChannel) -> None:
        """Register a channel built after the hub (the card channel works through the hub's own services)."""
        self._channels[channel.name] = channel

    def channel(self, name: str) -> PaymentChannel:
        if name not in self._channels:
            raise InvalidInput("VALIDATION", detail=f"未知支付渠道：{name}")
        return self._channels[name]

    def biller(self, name: str) -> Biller:
        if name not in self._billers:
            raise InvalidInput("VALIDATION", detail=f"未知缴费系统：{name}")
        return self._billers[name]
