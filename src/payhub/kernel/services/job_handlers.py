"""Which handler runs each kind of job: the kernel's and every feature's, registered in bootstrap."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from payhub.kernel.domain.jobs import JobOutcome, JobType

Handler = Callable[..., Awaitable[JobOutcome]]   # (hub=, job=) → what became of the job
Parker = Callable[..., Awaitable[None]]          # (hub=, job=, error=) when the job is out of tries


@dataclass(frozen=True)
class JobHandler:
    """How to run one kind of job, and what to do once it is out of tries (None: the kernel's order parking)."""

    kind: JobType
    run: Handler
    park: Parker | None = None


class JobHandlers:
    """kind → its handler; one registration per kind."""

    def __init__(self, handlers: Iterable[JobHandler] = ()) -> None:
        self._by_kind: dict[str, JobHandler] = {}
        for handler in handlers:
            if handler.kind.value in self._by_kind:
                raise ValueError(f"job kind {handler.kind.value} registered twice")
            self._by_kind[handler.kind.value] = handler

    def of(self, kind: str) -> JobHandler:
        return self._by_kind[kind]
