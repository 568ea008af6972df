import secrets

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tests.factories import ProductFactory, UserFactory


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def customer(db):
    return UserFactory()


@pytest.fixture
def other_customer(db):
    return UserFactory()


def client_for(user) -> APIClient:
    """An API client authenticated with a new token of the user, as a signed-in app would be
    (for staff: as if the second factor was given at sign-in)."""
    from accounts.tokens import issue_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user).token}")
    return client


def admin_login(client: Client, user) -> Client:
    """Sign a staff member into the admin as the real sign-in leaves them: the password, and
    the second factor where the account needs one (its authenticator made if it has none)."""
    from accounts.two_factor import second_factor_needed

    client.force_login(user)
    if second_factor_needed(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def customer_client(customer) -> APIClient:
    return client_for(customer)


@pytest.fixture
def other_client(other_customer) -> APIClient:
    return client_for(other_customer)


@pytest.fixture
def product(db):
    return ProductFactory()


# Fake payment gateways (real HTTP servers) and their fixtures, for every test module.
pytest_plugins = ["tests.fakes.fixtures"]


class FakeClock:
    """A clock for the rate limiter: tests move time instead of sleeping."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def ratelimit_clock(monkeypatch) -> FakeClock:
    """Drives the shared limiter from the start of a fresh hour (so its Redis keys are new)."""
    from security.ratelimit import default_limiter

    clock = FakeClock(start=3600.0 * (500_000 + secrets.randbelow(10_000_000)))
    monkeypatch.setattr(default_limiter, "clock", clock)
    return clock


def clear_own_cache() -> None:
    """Delete this test process's cache keys (its own KEY_PREFIX, config/test_settings.py).

    Not ``cache.clear()``: on Redis that is FLUSHDB, which also deleted the keys of the other
    test processes and the Celery broker's queues and bindings in the same database, so a
    worker started by a test running alongside never received its task."""
    from django.conf import settings
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]  # the backend itself: ``django.core.cache.cache`` is a proxy
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    client = cache._cache.get_client(write=True)
    pattern = f"{settings.CACHES['default']['KEY_PREFIX']}:*"
    keys = list(client.scan_iter(match=pattern, count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def admin_client(db) -> Client:
    """A superuser signed into the admin with both factors (replaces pytest-django's, whose
    session has not passed the second factor a superuser needs)."""
    from tests.factories import StaffFactory

    return admin_login(Client(), StaffFactory(is_superuser=True))


# --- Concurrency tests through PgBouncer (tests/pgbouncer.py) ---------------------------------
DATABASE_ROUTES = ["postgres", "pgbouncer", "pgbouncer-prepared"]


def _start_pgbouncer(prepared: bool):
    from django.db import connections

    from tests.pgbouncer import PgBouncer

    db = connections["default"].settings_dict
    return PgBouncer(
        server_host=db["HOST"] or "127.0.0.1",
        server_port=int(db["PORT"] or 5432),
        user=db["USER"],
        prepared=prepared,
    ).start()


@pytest.fixture(scope="session")
def pgbouncer_plain(django_db_setup):
    """Transaction pooling, prepared statements off (any PgBouncer). Stopped before the test
    database is dropped: its pooled server connections would hold the drop."""
    bouncer = _start_pgbouncer(prepared=False)
    yield bouncer
    bouncer.stop()


@pytest.fixture(scope="session")
def pgbouncer_prepared(django_db_setup):
    """Transaction pooling with prepared statements tracked (PgBouncer 1.21+)."""
    bouncer = _start_pgbouncer(prepared=True)
    yield bouncer
    bouncer.stop()


@pytest.fixture(params=DATABASE_ROUTES)
def database_route(request):
    """Run the test straight against PostgreSQL, then through PgBouncer in transaction mode
    with prepared statements off, then on (where the installed PgBouncer supports it)."""
    from tests import pgbouncer

    route = request.param
    if route == "postgres":
        yield None
        return
    if pgbouncer.EXECUTABLE is None:
        pytest.skip("pgbouncer is not installed (.ci/run installs Debian's package)")
    prepared = route == "pgbouncer-prepared"
    if prepared and not pgbouncer.supports_prepared_statements():
        pytest.skip(
            f"PgBouncer {pgbouncer.version()} cannot keep prepared statements in transaction "
            f"mode (1.21+ can): the app runs with DB_PREPARED_STATEMENTS=0 behind it"
        )
    bouncer = request.getfixturevalue("pgbouncer_prepared" if prepared else "pgbouncer_plain")
    with pgbouncer.django_through(bouncer):
        yield bouncer
