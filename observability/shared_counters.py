"""Counters and histograms kept in the shared Redis, for events that happen in Celery workers.

A prometheus_client metric lives in the memory of the process that changes it; the lock sweep,
webhook processing and payment reconciliation run in workers, in other containers than the web
processes Prometheus scrapes, with no metrics folder in common. A shared metric adds to Redis
instead, and every web process reads the totals at scrape time:

- ``SharedCounter`` without labels: a total (``<name>_total``) and an hourly bucket kept for
  two days, so the beat health check can sum "the last 24 hours" without Prometheus.
- ``SharedCounter`` with labels: one Redis hash, a field per label set (``.labels(...).inc()``).
- ``SharedHistogram``: one Redis hash with each label set's bucket counts, count and sum.

Changes are added up in the process and sent by a background thread at most once a second
(``FLUSH_SECONDS``; checkout counts every lock it writes, and a Redis round trip per checkout
cost more CPU than the rest of the counting), and by a worker at the end of each task
(``observability.celery_signals``); a read sends this process's own first. Without Redis (the
embedded default: tasks run inline, one process) a process-local dict stands in. A Redis
error never affects the caller: the counts are skipped and logged.
"""

import logging
import math
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from core.coalesce import Coalesced

logger = logging.getLogger(__name__)

_BUCKET_LIFETIME_SECONDS = 48 * 3600
_SEPARATOR = "\t"  # between label values in a hash field; label values are bounded words
Amount = int | float
# (Redis key, hash field): a plain key (INCRBY) when the field is empty.
_Slot = tuple[str, str]

_local: dict[_Slot, Amount] = {}
_local_lock = threading.Lock()
_metrics: dict[str, "_SharedMetric"] = {}


FLUSH_SECONDS = 1.0
_unsent: dict[_Slot, Amount] = {}  # added up until the next flush
_unsent_lock = threading.Lock()
_flush_lock = threading.Lock()  # one flush at a time: a read waits for one in flight


def _redis() -> tuple[RedisCache | None, Any]:
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None, None
    return cache, cache._cache.get_client(cache.make_and_validate_key("x"), write=True)


def flush() -> None:
    """Send this process's unsent counts to Redis (the background thread calls it)."""
    global _unsent
    with _flush_lock:
        with _unsent_lock:
            counts, _unsent = _unsent, {}
        if not counts:
            return
        try:
            cache, client = _redis()
            if cache is None:  # the cache was switched off Redis since (tests): nowhere to send
                return
            pipe = client.pipeline(transaction=False)
            for (key, field), amount in counts.items():
                full_key = cache.make_and_validate_key(key)
                if field and isinstance(amount, float):
                    pipe.hincrbyfloat(full_key, field, amount)
                elif field:
                    pipe.hincrby(full_key, field, amount)
                else:
                    pipe.incrby(full_key, amount)
                    if not key.endswith(":total"):
                        pipe.expire(full_key, _BUCKET_LIFETIME_SECONDS)
            pipe.execute()
        except Exception:  # redis-py raises several unrelated types; a lost count is acceptable
            logger.warning(
                "shared counters not counted: Redis unavailable",
                extra={
                    "counters": {f"{key} {field}".strip(): n for (key, field), n in counts.items()}
                },
            )


_flusher = Coalesced(flush, delay=FLUSH_SECONDS, name="shared-counters")


def _add(changes: dict[_Slot, Amount]) -> None:
    if isinstance(caches["default"], RedisCache):
        with _unsent_lock:
            for slot, amount in changes.items():
                _unsent[slot] = _unsent.get(slot, 0) + amount
        _flusher.request()
        return
    with _local_lock:
        for slot, amount in changes.items():
            _local[slot] = _local.get(slot, 0) + amount


def _read_keys(keys: list[str]) -> list[int]:
    flush()  # this process's own counts first
    cache, client = _redis()
    if cache is None:
        with _local_lock:
            return [int(_local.get((key, ""), 0)) for key in keys]
    values = client.mget([cache.make_and_validate_key(key) for key in keys])
    return [int(v) if v is not None else 0 for v in values]


def _read_hash(key: str) -> dict[str, float]:
    flush()
    cache, client = _redis()
    if cache is None:
        with _local_lock:
            return {field: float(n) for (k, field), n in _local.items() if k == key and field}
    raw = client.hgetall(cache.make_and_validate_key(key)) or {}
    return {field.decode(): float(amount) for field, amount in raw.items()}


def _bucket(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H")


class _SharedMetric:
    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        _metrics[name] = self

    def _key(self, suffix: str) -> str:
        return f"metrics:shared:{self.name}:{suffix}"

    def _field(self, values: Sequence[object]) -> str:
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {values!r}")
        return _SEPARATOR.join(str(value) for value in values)

    def collect(self) -> Iterator[Metric]:
        raise NotImplementedError


class SharedCounter(_SharedMetric):
    """A monotonically increasing count, exported as ``<name>_total``."""

    def inc(self, amount: int = 1, *, now: datetime | None = None) -> None:
        if self.labelnames:
            raise ValueError(f"{self.name} has labels {self.labelnames}: use .labels(...).inc()")
        if amount <= 0:
            return
        bucket = self._key(_bucket(now or timezone.now()))
        _add({(self._key("total"), ""): amount, (bucket, ""): amount})

    def labels(self, *values: object) -> "_CounterChild":
        return _CounterChild(self._key("labelled"), self._field(values))

    def total(self) -> int:
        return _read_keys([self._key("total")])[0]

    def sum_last_hours(self, hours: int, *, now: datetime | None = None) -> int:
        """Counted in the current hour and the ``hours - 1`` before it (hour buckets)."""
        now = now or timezone.now()
        return sum(_read_keys([self._key(_bucket(now - timedelta(hours=h))) for h in range(hours)]))

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        if not self.labelnames:
            family.add_metric([], self.total())
        else:
            for field, amount in sorted(_read_hash(self._key("labelled")).items()):
                family.add_metric(field.split(_SEPARATOR), amount)
        yield family


class _CounterChild:
    def __init__(self, key: str, field: str) -> None:
        self._slot = (key, field)

    def inc(self, amount: int = 1) -> None:
        if amount > 0:
            _add({self._slot: amount})


class SharedHistogram(_SharedMetric):
    """Observations in cumulative buckets, exported as Prometheus' ``<name>_bucket/_count/_sum``."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]
    ) -> None:
        super().__init__(name, documentation, labelnames)
        self.buckets = tuple(sorted(float(b) for b in buckets if not math.isinf(b)))

    def labels(self, *values: object) -> "_HistogramChild":
        return _HistogramChild(self, self._field(values))

    def collect(self) -> Iterator[Metric]:
        stored = _read_hash(self._key("labelled"))
        label_sets = sorted({field.rpartition(_SEPARATOR)[0] for field in stored})
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for label_set in label_sets:
            prefix = f"{label_set}{_SEPARATOR}"
            cumulative, buckets = 0.0, []
            for index, bound in enumerate(self.buckets):
                cumulative += stored.get(f"{prefix}b{index}", 0.0)
                buckets.append(
                    (repr(bound), cumulative)
                )  # 0.1, 1.0, 60.0: as prometheus_client writes le
            buckets.append(("+Inf", stored.get(f"{prefix}count", 0.0)))
            family.add_metric(
                label_set.split(_SEPARATOR) if self.labelnames else [],
                buckets,
                stored.get(f"{prefix}sum", 0.0),
            )
        yield family


class _HistogramChild:
    def __init__(self, histogram: SharedHistogram, field: str) -> None:
        self._histogram, self._field = histogram, field

    def observe(self, value: float) -> None:
        key, prefix = self._histogram._key("labelled"), f"{self._field}{_SEPARATOR}"
        changes: dict[_Slot, Amount] = {
            (key, f"{prefix}count"): 1,
            (key, f"{prefix}sum"): float(value),
        }
        for index, bound in enumerate(self._histogram.buckets):
            if value <= bound:  # only the first bucket it fits; the scrape adds them up
                changes[(key, f"{prefix}b{index}")] = 1
                break
        _add(changes)


def shared_counter_totals() -> Iterator[Metric]:
    """Every shared metric, read from Redis (a scrape-time source: observability.gauges)."""
    for _name, metric in sorted(_metrics.items()):
        yield from metric.collect()
