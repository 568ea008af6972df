"""Counters kept in the shared Redis, for events that happen in Celery workers too.

A prometheus_client ``Counter`` lives in the memory of the process that increments it; the
lock sweep and webhook processing run in workers, which nobody scrapes. A ``SharedCounter``
does one ``INCRBY`` on a Redis total (exposed as ``<name>_total`` at scrape time) and one on
an hourly bucket kept for two days, so the beat health check can sum "the last 24 hours"
without Prometheus. Without Redis (the embedded default: tasks run inline, one process) a
process-local dict stands in. A Redis error never affects the caller: the count is skipped
and logged.
"""

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, Metric

logger = logging.getLogger(__name__)

_BUCKET_LIFETIME_SECONDS = 48 * 3600
_local: dict[str, int] = {}
_local_lock = threading.Lock()
_counters: dict[str, "SharedCounter"] = {}


def _redis():
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None, None
    return cache, cache._cache.get_client(cache.make_and_validate_key("x"), write=True)


def _bucket(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H")


class SharedCounter:
    """A monotonically increasing count, exported as ``<name>_total``."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        _counters[name] = self

    def _key(self, suffix: str) -> str:
        return f"metrics:shared:{self.name}:{suffix}"

    def inc(self, amount: int = 1, *, now: datetime | None = None) -> None:
        if amount <= 0:
            return
        total_key, bucket_key = self._key("total"), self._key(_bucket(now or timezone.now()))
        try:
            cache, client = _redis()
            if client is not None:
                pipe = client.pipeline(transaction=False)
                pipe.incrby(cache.make_and_validate_key(total_key), amount)
                pipe.incrby(cache.make_and_validate_key(bucket_key), amount)
                pipe.expire(cache.make_and_validate_key(bucket_key), _BUCKET_LIFETIME_SECONDS)
                pipe.execute()
                return
        except Exception:  # redis-py raises several unrelated types; a lost count is acceptable
            logger.warning(
                "shared counter not counted: Redis unavailable", extra={"counter": self.name}
            )
            return
        with _local_lock:
            for key in (total_key, bucket_key):
                _local[key] = _local.get(key, 0) + amount

    def _read(self, keys: list[str]) -> list[int]:
        cache, client = _redis()
        if client is None:
            with _local_lock:
                return [_local.get(key, 0) for key in keys]
        values = client.mget([cache.make_and_validate_key(key) for key in keys])
        return [int(v) if v is not None else 0 for v in values]

    def total(self) -> int:
        return self._read([self._key("total")])[0]

    def sum_last_hours(self, hours: int, *, now: datetime | None = None) -> int:
        """Counted in the current hour and the ``hours - 1`` before it (hour buckets)."""
        now = now or timezone.now()
        keys = [self._key(_bucket(now - timedelta(hours=h))) for h in range(hours)]
        return sum(self._read(keys))


def shared_counter_totals() -> Iterator[Metric]:
    for name, counter in sorted(_counters.items()):
        family = CounterMetricFamily(name, counter.documentation)
        family.add_metric([], counter.total())
        yield family
