"""The billers the counter's merchants post to, by name."""
from __future__ import annotations

from payhub.counter.ports import Biller
from payhub.kernel.domain.errors import InvalidInput


class BillerRegistry:
    def __init__(self, billers: dict[str, Biller]) -> None:
        self._billers = billers

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._billers)

    def biller(self, name: str) -> Biller:
        if name not in self._billers:
            raise InvalidInput("VALIDATION", detail=f"未知缴费系统：{name}")
        return self._billers[name]
