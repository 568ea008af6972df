"""core.cache.RedisCache: Django's Redis cache, keeping one redis-py client per pool."""

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from core.cache import RedisCache


def test_the_configured_cache_is_ours_and_still_a_django_redis_cache():
    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    assert isinstance(cache, DjangoRedisCache)  # what the rate limiter and counters look for


def test_every_operation_reuses_one_client_and_sees_the_others_writes():
    cache = RedisCache(settings.CACHES["default"]["LOCATION"], {"KEY_PREFIX": "test-cache-reuse"})
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=False) is client  # one server: one pool, one client

    cache.delete("k")
    assert cache.add("k", 1, timeout=30) is True
    assert cache.add("k", 2, timeout=30) is False
    assert cache.incr("k") == 2
    assert cache.get("k") == 2
    cache.delete("k")
    assert cache.get("k") is None
    assert cache._cache.get_client(write=True) is client
