"""What the counter's use cases need beyond the kernel's hub: the billers."""
from __future__ import annotations

from dataclasses import dataclass

from payhub.counter.ports import Billers
from payhub.kernel.services.context import Hub


@dataclass(frozen=True, kw_only=True)
class CounterHub(Hub):
    """The kernel's hub with the billers the counter's merchants post to."""

    billers: Billers
