"""Prometheus metrics: API latency, orders by state, the job queue, and outcomes of calls to far systems."""
from __future__ import annotations

import functools
import inspect
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class HubMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.api_latency = Histogram(
            "payhub_api_request_seconds", "Terminal API latency", ["method", "route", "status"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.orders = Gauge("payhub_orders", "Bill orders by state", ["state"], registry=self.registry)
        self.queue_depth = Gauge("payhub_jobs_open", "Jobs pending or running", registry=self.registry)
        self.oldest_job = Gauge("payhub_jobs_oldest_due_seconds", "Age of the oldest open job", registry=self.registry)
        self.calls = Counter(
            "payhub_external_calls", "Calls to channels and billers by outcome", ["system", "operation", "outcome"],
            registry=self.registry,
        )
        self.call_latency = Histogram(
            "payhub_external_call_seconds", "Latency of calls to channels and billers", ["system", "operation"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class Instrumented:
    """Wraps a channel or biller: counts each async call's outcome (the answer's status, or the error's type)."""

    def __init__(self, target: Any, *, system: str, metrics: HubMetrics) -> None:
        self._target = target
        self._system = system
        self._metrics = metrics
        self.name = target.name

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._target, attribute)
        if not inspect.iscoroutinefunction(value):
            return value

        @functools.wraps(value)
        async def measured(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            outcome = "ok"
            try:
                result = await value(*args, **kwargs)
                status = getattr(result, "status", None)
                outcome = str(status) if status is not None else "ok"
                return result
            except Exception as error:
                outcome = type(error).__name__
                raise
            finally:
                self._metrics.calls.labels(self._system, attribute, outcome).inc()
                self._metrics.call_latency.labels(self._system, attribute).observe(time.perf_counter() - started)

        return measured
