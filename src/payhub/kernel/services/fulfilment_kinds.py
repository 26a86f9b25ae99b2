"""The fulfilment kinds a hub knows: each feature registers its own in bootstrap."""
from __future__ import annotations

from collections.abc import Iterable

from payhub.kernel.ports import Fulfiller


class FulfilmentKinds:
    """kind → its Fulfiller; one registration per kind."""

    def __init__(self, kinds: Iterable[Fulfiller] = ()) -> None:
        self._kinds: dict[str, Fulfiller] = {}
        for fulfiller in kinds:
            self.register(fulfiller)

    def register(self, fulfiller: Fulfiller) -> None:
        if fulfiller.kind in self._kinds:
            raise ValueError(f"fulfilment kind {fulfiller.kind} registered twice")
        self._kinds[fulfiller.kind] = fulfiller

    def of(self, kind: str) -> Fulfiller:
        return self._kinds[kind]

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds
