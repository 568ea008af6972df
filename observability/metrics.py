"""The shop's Prometheus metrics, and the exposition used by ``/metrics``.

Process metrics (counters, histograms) live here as module-level objects (security counts its
own decisions in ``security.metrics``; the exposition renders every counter); other apps import
them and call ``.labels(...).inc()`` / ``.observe()``. Label values must come from a small
fixed set (use ``bounded_label`` for anything that reaches us from outside, such as a webhook
event type), otherwise every new value is a new time series.

Figures read from the database (queue depths, locks, health ratios) are computed when
Prometheus scrapes, by callables that apps hand to ``register_gauge_source`` — so apps never
import each other, and the figures are fresh and cost nothing between scrapes.

Multi-process: under gunicorn each worker process has its own counters. Set
``PROMETHEUS_MULTIPROC_DIR`` to an empty, writable directory (emptied at every deploy, before
the processes start) and prometheus_client writes them to memory-mapped files there;
``/metrics`` then sums all processes' files. Unset, the default in-process registry is used.
That folder is per host (or container): what Celery workers count (payments, webhook events,
their processing lag, lock expiries, disputes) is therefore kept in the shared Redis instead
(``observability.shared_counters``), and any web process reports it at scrape time.
"""

import logging
import os
from collections.abc import Callable, Collection, Iterable, Iterator

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from observability.shared_counters import SharedCounter, SharedHistogram

logger = logging.getLogger(__name__)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Metrics without labels write their file as soon as they are defined, below.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# `*_created` timestamps would double the series count and nothing here reads them.
disable_created_metrics()

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# --- HTTP (filled by observability.middleware.RequestMetricsMiddleware) -----------------------
HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by URL route pattern, method and status code.",
    ["route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by URL route pattern, method and status code.",
    ["route", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)

# --- Domain (incremented by orders, payments and webhook code) ------------------------------
CHECKOUTS = Counter(
    "checkouts",
    "Checkout attempts by outcome (e.g. placed, replayed, out_of_stock, price_changed, error).",
    ["outcome"],
)

# --- Infrastructure -------------------------------------------------------------------------
# celery_task_total is counted in Redis by every worker: see observability.task_metrics.
# Rate-limit decisions and failed sign-ins are counted by security (security.metrics).


# --- Counted in Redis (incremented in workers too): see observability.shared_counters --------
INVENTORY_LOCKS_CREATED = SharedCounter(
    "inventory_locks_created",
    "Stock locks written (one per product of a reservation), counted when committed.",
)
INVENTORY_LOCKS_EXPIRED = SharedCounter(
    "inventory_locks_expired",
    "Stock locks that ran out unpaid and were deleted by the sweep.",
)
DISPUTES_OPENED = SharedCounter(
    "disputes_opened",
    "Payment disputes opened by a gateway (first notice of each dispute).",
)
# Payments settle and webhooks are processed in workers, and received in web processes.
PAYMENTS = SharedCounter(
    "payments",
    "Payments by gateway and outcome (e.g. succeeded, failed, abandoned, refunded).",
    ["gateway", "outcome"],
)
WEBHOOK_EVENTS = SharedCounter(
    "webhook_events",
    "Gateway webhook deliveries by gateway, event type and result "
    "(e.g. processed, duplicate, bad_signature, ignored, failed).",
    ["gateway", "type", "result"],
)
WEBHOOK_PROCESSING_LAG = SharedHistogram(
    "webhook_processing_lag_seconds",
    "Seconds from receiving a webhook to finishing its processing.",
    ["gateway"],
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21600.0),
)


def bounded_label(value: object, allowed: Collection[str], other: str = "other") -> str:
    """``value`` if it is one of ``allowed``, else ``other``: keeps label cardinality fixed."""
    return value if isinstance(value, str) and value in allowed else other


# --- Scrape-time gauges ---------------------------------------------------------------------
GaugeSource = Callable[[], Iterable[Metric]]
_gauge_sources: dict[str, GaugeSource] = {}


def register_gauge_source(source: GaugeSource, *, name: str | None = None) -> None:
    """Have ``source()`` called at every scrape; it yields metric families (GaugeMetricFamily).

    Call it from your AppConfig.ready(). Registering the same name again replaces the source.
    A source that raises is logged and reported as ``metrics_gauge_source_up{source} 0``; the
    rest of the scrape still succeeds.
    """
    _gauge_sources[name or f"{source.__module__}.{source.__qualname__}"] = source


def unregister_gauge_source(name: str) -> None:
    _gauge_sources.pop(name, None)


class ScrapeTimeCollector:
    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "metrics_gauge_source_up",
            "1 if the scrape-time gauge source answered, 0 if it failed.",
            labels=["source"],
        )
        for name, source in sorted(_gauge_sources.items()):
            try:
                families = list(source())
            except Exception:  # one broken source must not hide every other metric
                logger.exception("gauge source failed", extra={"source": name})
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


class _Registries:
    """Several collectors seen as one registry by prometheus_client's encoders."""

    def __init__(self, *collectors: object) -> None:
        self._collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def render_metrics(accept_header: str | None) -> tuple[bytes, str]:
    """The exposition (text or OpenMetrics, as Prometheus asks) and its content type."""
    if multiprocess_enabled():
        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    try:
        encoder, content_type = choose_encoder(accept_header or "")
    except (TypeError, ValueError):
        # prometheus_client compares the OpenMetrics version it was sent without checking it
        # ("version=1.x" raised); a scraper that asks oddly gets the plain text format.
        encoder, content_type = choose_encoder("")
    return encoder(_Registries(process_registry, ScrapeTimeCollector())), content_type
