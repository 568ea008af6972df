"""``celery_task_total``: task outcomes counted in Redis, so /metrics sees every worker's.

Workers run in other processes, containers and hosts than the web process that serves
/metrics, so an in-process counter would never be scraped. Each outcome is one ``HINCRBY``
on a hash in the shared Redis; the web process reads the hash at scrape time. Without Redis
(the embedded default runs tasks inline, in the web process) a process-local dict is used.
A Redis error never affects the task: the count is skipped and logged.
"""

import logging
import threading
from collections.abc import Iterator

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from prometheus_client.core import CounterMetricFamily, Metric

logger = logging.getLogger(__name__)

_HASH_KEY = "metrics:celery_task_total"
_SEPARATOR = "\t"
_local_counts: dict[str, int] = {}
_local_lock = threading.Lock()


def _redis_client_and_key():
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None, None
    key = cache.make_and_validate_key(_HASH_KEY)
    return cache._cache.get_client(key, write=True), key


def record_task_outcome(task: str, outcome: str) -> None:
    field = f"{task}{_SEPARATOR}{outcome}"
    try:
        client, key = _redis_client_and_key()
        if client is not None:
            client.hincrby(key, field, 1)
            return
    except Exception:  # redis-py raises several unrelated types; a lost count is acceptable
        logger.warning("task outcome not counted: Redis unavailable", extra={"task_name": task})
        return
    with _local_lock:
        _local_counts[field] = _local_counts.get(field, 0) + 1


def task_outcome_counts() -> dict[tuple[str, str], int]:
    client, key = _redis_client_and_key()
    if client is not None:
        raw = {field.decode(): int(count) for field, count in (client.hgetall(key) or {}).items()}
    else:
        with _local_lock:
            raw = dict(_local_counts)
    counts = {}
    for field, count in raw.items():
        task, _, outcome = field.partition(_SEPARATOR)
        counts[(task, outcome)] = count
    return counts


def celery_task_totals() -> Iterator[Metric]:
    family = CounterMetricFamily(
        "celery_task",
        "Celery task runs by task name and outcome (success, failure, retry), all workers.",
        labels=["task", "outcome"],
    )
    for (task, outcome), count in sorted(task_outcome_counts().items()):
        family.add_metric([task, outcome], count)
    yield family
