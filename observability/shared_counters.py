"""Counters kept in the shared Redis, for events that happen in Celery workers too.

A prometheus_client ``Counter`` lives in the memory of the process that increments it; the
lock sweep and webhook processing run in workers, which nobody scrapes. A ``SharedCounter``
adds to a Redis total (exposed as ``<name>_total`` at scrape time) and to an hourly bucket kept
for two days, so the beat health check can sum "the last 24 hours" without Prometheus.
Increments are added up in the process and sent by a background thread at most once a second
(``FLUSH_SECONDS``; checkout counts every lock it writes, and a Redis round trip per checkout
cost more CPU than the rest of the counting); a read sends this process's own first, so a
count shows in another process within that second. Without Redis (the embedded default: tasks
run inline, one process) a process-local dict stands in. A Redis error never affects the
caller: the counts are skipped and logged.
"""

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, Metric

from config.coalesce import Coalesced

logger = logging.getLogger(__name__)

_BUCKET_LIFETIME_SECONDS = 48 * 3600
_local: dict[str, int] = {}
_local_lock = threading.Lock()
_counters: dict[str, "SharedCounter"] = {}


FLUSH_SECONDS = 1.0
_unsent: dict[str, int] = {}  # key -> amount, added up until the next flush
_unsent_lock = threading.Lock()
_flush_lock = threading.Lock()  # one flush at a time: a read waits for one in flight


def _redis():
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
            pipe = client.pipeline(transaction=False)
            for key, amount in counts.items():
                full_key = cache.make_and_validate_key(key)
                pipe.incrby(full_key, amount)
                if not key.endswith(":total"):
                    pipe.expire(full_key, _BUCKET_LIFETIME_SECONDS)
            pipe.execute()
        except Exception:  # redis-py raises several unrelated types; a lost count is acceptable
            logger.warning(
                "shared counters not counted: Redis unavailable", extra={"counters": counts}
            )


_flusher = Coalesced(flush, delay=FLUSH_SECONDS, name="shared-counters")


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
        if isinstance(caches["default"], RedisCache):
            with _unsent_lock:
                for key in (total_key, bucket_key):
                    _unsent[key] = _unsent.get(key, 0) + amount
            _flusher.request()
            return
        with _local_lock:
            for key in (total_key, bucket_key):
                _local[key] = _local.get(key, 0) + amount

    def _read(self, keys: list[str]) -> list[int]:
        flush()  # this process's own counts first
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
