"""Prometheus metrics: API latency, orders by state, the job queue, and outcomes of calls to far systems.

With PROMETHEUS_MULTIPROC_DIR set (`payhub serve --workers N` sets it), every process writes its counters and
histograms there and any one process's /metrics adds them all up; the database gauges are read at scrape time.
"""
from __future__ import annotations

import functools
import inspect
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector


class HubMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.api_latency = Histogram(
            "payhub_api_request_seconds", "Terminal API latency", ["method", "route", "status"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.calls = Counter(
            "payhub_external_calls", "Calls to channels and billers by outcome", ["system", "operation", "outcome"],
            registry=self.registry,
        )
        self.call_latency = Histogram(
            "payhub_external_call_seconds", "Latency of calls to channels and billers", ["system", "operation"],
            registry=self.registry,
        )

    def render(self, *, orders_by_state: Mapping[str, int], open_jobs: int, oldest_due_seconds: float) -> bytes:
        """The text exposition: every process's counters (one or all of this host's) and the database's gauges."""
        processes: Collector = self.registry
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            processes = CollectorRegistry()
            MultiProcessCollector(processes)  # type: ignore[no-untyped-call]  # prometheus_client leaves it untyped
        return generate_latest(_Scrape(processes, _DatabaseGauges(orders_by_state, open_jobs, oldest_due_seconds)))


class _DatabaseGauges(Collector):
    """What the database holds right now: the same whichever process answers the scrape."""

    def __init__(self, orders_by_state: Mapping[str, int], open_jobs: int, oldest_due_seconds: float) -> None:
        self._orders, self._open_jobs, self._oldest = orders_by_state, open_jobs, oldest_due_seconds

    def collect(self) -> Iterable[Metric]:
        orders = GaugeMetricFamily("payhub_orders", "Bill orders by state", labels=["state"])
        for state, count in self._orders.items():
            orders.add_metric([state], count)
        yield orders
        yield GaugeMetricFamily("payhub_jobs_open", "Jobs pending or running", value=self._open_jobs)
        yield GaugeMetricFamily("payhub_jobs_oldest_due_seconds", "Age of the oldest open job", value=self._oldest)


class _Scrape(Collector):
    def __init__(self, *sources: Collector) -> None:
        self._sources = sources

    def collect(self) -> Iterable[Metric]:
        for source in self._sources:
            yield from source.collect()


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
