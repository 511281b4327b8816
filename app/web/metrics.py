"""Prometheus metrics: requests by route and status, their latency, the connection pool and
the read replicas' lag.

The route is the path template (`/events/{event_id:int}`), never the raw path, so a client
cannot grow the label set. With PROMETHEUS_MULTIPROC_DIR set (several worker processes),
the prometheus_client library keeps each process's values in that directory and /metrics
sums them; otherwise /metrics is this process's.
"""

import math
import os
import time
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.store.replicas import ReadRouting

REQUESTS = Counter(
    "frontline_requests", "HTTP requests answered", ["method", "route", "status"]
)  # fmt: skip
LATENCY = Histogram(
    "frontline_request_seconds",
    "Time from a request's arrival to the last byte of its answer",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UNMATCHED = "unmatched"  # a path no route serves (404s, probes)


class RequestMetrics:
    """ASGI middleware: counts and times every HTTP request by its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the server answers if the app raises before it starts a response

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - start)


class PoolCollector(Collector):
    """The engine's pool at scrape time: connections in use and idle."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.engine.sync_engine.pool
        family = GaugeMetricFamily(
            "frontline_db_pool_connections", "Database connections of this process",
            labels=["state"],
        )  # fmt: skip
        checked_out = getattr(pool, "checkedout", lambda: 0)()
        idle = getattr(pool, "checkedin", lambda: 0)()
        family.add_metric(["in_use"], checked_out)
        family.add_metric(["idle"], idle)
        yield family


class ReplicaCollector(Collector):
    """Each read replica at its last check: its lag, and whether it gets reads."""

    def __init__(self, routing: ReadRouting) -> None:
        self.routing = routing

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "frontline_db_replica_lag_seconds",
            "How far each read replica is behind the primary (NaN: not known)",
            labels=["replica"],
        )
        serving = GaugeMetricFamily(
            "frontline_db_replica_serving",
            "1 while a read replica is healthy and gets reads, else 0",
            labels=["replica", "state"],
        )
        for replica in self.routing.replicas:
            lag.add_metric([replica.name], math.nan if replica.lag_s is None else replica.lag_s)
            serving.add_metric([replica.name, replica.state], int(replica.state == "healthy"))
        yield lag
        yield serving


def exposition(engine: AsyncEngine, routing: ReadRouting) -> tuple[bytes, str]:
    """The metrics text and its media type: the requests (of every worker process with
    PROMETHEUS_MULTIPROC_DIR, else of this one), then this process's pool and replicas."""
    requests: CollectorRegistry = REGISTRY
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        requests = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests)  # type: ignore[no-untyped-call]
    pool = CollectorRegistry()
    pool.register(PoolCollector(engine))
    pool.register(ReplicaCollector(routing))
    return generate_latest(requests) + generate_latest(pool), CONTENT_TYPE_LATEST
