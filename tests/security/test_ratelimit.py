"""The shared limiter itself, against real Redis (and the local-memory fallback)."""

import secrets
import threading

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from security.ratelimit import (
    Decision,
    LimiterUnavailable,
    Rate,
    RateLimiter,
    parse_rate,
)
from tests.conftest import FakeClock

DOWN_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def fresh_ident() -> str:
    return secrets.token_hex(8)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5/min", Rate(5, 60)),
        ("100/m", Rate(100, 60)),
        ("30/hour", Rate(30, 3600)),
        ("2/day", Rate(2, 86400)),
        ("10/30s", Rate(10, 30)),
        (" 7/sec ", Rate(7, 1)),
    ],
)
def test_parse_rate_reads_count_and_period(text, expected):
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["", "  ", None])
def test_an_empty_rate_means_no_limit(text):
    assert parse_rate(text) is None


@pytest.mark.parametrize("text", ["5", "five/min", "5/fortnight", "0/min", "5/0s", "-1/min"])
def test_a_malformed_rate_is_a_configuration_error(text):
    with pytest.raises(ImproperlyConfigured):
        parse_rate(text)


def test_requests_over_the_limit_are_refused_until_the_window_ends():
    clock = FakeClock(start=60.0 * (10_000_000 + secrets.randbelow(10_000_000)))
    limiter = RateLimiter(clock=clock)
    ident, rate = fresh_ident(), Rate(limit=3, window_seconds=60)

    clock.advance(15)
    decisions = [limiter.hit(scope="test", ident=ident, rate=rate) for _ in range(4)]
    clock.advance(44)
    still_refused = limiter.hit(scope="test", ident=ident, rate=rate)
    clock.advance(1)  # the next window
    allowed_again = limiter.hit(scope="test", ident=ident, rate=rate)

    assert decisions == [
        Decision(allowed=True, count=1, limit=3, retry_after=0),
        Decision(allowed=True, count=2, limit=3, retry_after=0),
        Decision(allowed=True, count=3, limit=3, retry_after=0),
        Decision(allowed=False, count=4, limit=3, retry_after=45),
    ]
    assert still_refused == Decision(allowed=False, count=5, limit=3, retry_after=1)
    assert allowed_again == Decision(allowed=True, count=1, limit=3, retry_after=0)


def test_scopes_and_idents_are_counted_apart():
    limiter = RateLimiter(clock=FakeClock(start=60.0 * secrets.randbelow(10**9)))
    ident, rate = fresh_ident(), Rate(limit=1, window_seconds=60)

    assert limiter.hit(scope="login", ident=ident, rate=rate).allowed is True
    assert limiter.hit(scope="login", ident=ident, rate=rate).allowed is False
    assert limiter.hit(scope="webhook", ident=ident, rate=rate).allowed is True
    assert limiter.hit(scope="login", ident=fresh_ident(), rate=rate).allowed is True


def test_counters_expire_in_redis_after_their_window():
    limiter = RateLimiter(clock=FakeClock(start=60.0 * secrets.randbelow(10**9)))
    ident = fresh_ident()
    limiter.hit(scope="ttl", ident=ident, rate=Rate(limit=5, window_seconds=60))

    cache = caches["default"]
    client = cache._cache.get_client(write=False)
    keys = client.keys(cache.make_key(f"ratelimit:ttl:{ident}:*"))
    assert len(keys) == 1
    assert client.get(keys[0]) == b"1"
    assert 0 < client.ttl(keys[0]) <= 120


def test_counting_goes_on_after_redis_forgets_its_scripts():
    # A restarted or failed-over Redis has no scripts loaded: the next hit loads it again.
    limiter = RateLimiter(clock=FakeClock(start=60.0 * secrets.randbelow(10**9)))
    ident, rate = fresh_ident(), Rate(limit=5, window_seconds=60)
    assert limiter.hit(scope="flush", ident=ident, rate=rate).count == 1
    caches["default"]._cache.get_client(write=True).script_flush()
    assert limiter.hit(scope="flush", ident=ident, rate=rate).count == 2


def test_concurrent_requests_never_exceed_the_limit():
    limiter = RateLimiter(clock=FakeClock(start=60.0 * secrets.randbelow(10**9)))
    ident, rate = fresh_ident(), Rate(limit=10, window_seconds=60)
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(25)

    def client() -> None:
        start.wait()
        for _ in range(2):
            decision = limiter.hit(scope="race", ident=ident, rate=rate)
            with lock:
                results.append(decision.allowed)

    threads = [threading.Thread(target=client) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == 50
    assert results.count(True) == 10


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_the_local_memory_cache_of_the_embedded_default_limits_too():
    limiter = RateLimiter(clock=FakeClock(start=120.0))
    ident, rate = fresh_ident(), Rate(limit=2, window_seconds=60)

    allowed = [limiter.hit(scope="local", ident=ident, rate=rate).allowed for _ in range(3)]

    assert allowed == [True, True, False]


@override_settings(CACHES=DOWN_REDIS)
def test_an_unreachable_redis_is_reported_not_guessed():
    limiter = RateLimiter(clock=FakeClock(start=120.0))

    with pytest.raises(LimiterUnavailable):
        limiter.hit(scope="down", ident=fresh_ident(), rate=Rate(limit=5, window_seconds=60))
