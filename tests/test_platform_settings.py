import pytest
from django.core.exceptions import ValidationError

from shop.platform_settings import get_setting, set_setting


@pytest.mark.django_db(transaction=True)
def test_defaults_apply_until_a_row_overrides_them():
    assert get_setting("checkout.lock_ttl_minutes") == 30
    set_setting("checkout.lock_ttl_minutes", 45)
    assert get_setting("checkout.lock_ttl_minutes") == 45


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [0, -5, "30", 2.5, True])
def test_a_lock_ttl_must_be_a_positive_integer(bad):
    with pytest.raises(ValidationError):
        set_setting("checkout.lock_ttl_minutes", bad)
    assert get_setting("checkout.lock_ttl_minutes") == 30


@pytest.mark.django_db
def test_unknown_setting_is_refused():
    with pytest.raises(ValidationError):
        set_setting("no.such.rule", 1)


@pytest.mark.django_db(transaction=True)
def test_another_process_edit_is_seen_once_the_local_copy_expires(monkeypatch):
    from django.core.cache import cache

    from shop import platform_settings
    from shop.models import PlatformSetting

    clock = [1000.0]
    monkeypatch.setattr(platform_settings.time, "monotonic", lambda: clock[0])
    platform_settings.invalidate_cache()
    assert get_setting("checkout.lock_ttl_minutes") == 30

    # What set_setting does in another process: the row changes, the shared cache is dropped;
    # this process's own copy is not reachable from there.
    PlatformSetting.objects.create(key="checkout.lock_ttl_minutes", value=45)
    cache.delete(platform_settings._CACHE_KEY)
    assert get_setting("checkout.lock_ttl_minutes") == 30

    clock[0] += platform_settings._LOCAL_SECONDS
    assert get_setting("checkout.lock_ttl_minutes") == 45


DURATIONS = {  # every duration setting and its largest allowed value
    "checkout.lock_ttl_minutes": 7 * 24 * 60,
    "checkout.unpaid_order_expiry_hours": 24 * 90,
    "checkout.payment_window_minutes": 24 * 60,
    "payments.reconcile_after_minutes": 7 * 24 * 60,
    "ops.archive_after_days": 3650,
    "ops.redrive_webhooks_after_minutes": 7 * 24 * 60,
    "ops.purge_webhooks_after_days": 3650,
    "ops.purge_refused_webhooks_after_days": 3650,
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("key", "maximum"), DURATIONS.items(), ids=DURATIONS.keys())
def test_durations_are_bounded_so_date_arithmetic_cannot_overflow(key, maximum):
    for too_big in (maximum + 1, 10**30):
        with pytest.raises(ValidationError):
            set_setting(key, too_big)
    set_setting(key, maximum)
    assert get_setting(key) == maximum


@pytest.mark.django_db(transaction=True)
def test_an_overflowing_duration_stored_before_the_bound_falls_back_to_the_default():
    from datetime import timedelta

    from django.utils import timezone

    from orders.payment_methods import order_expiry
    from shop import platform_settings
    from shop.models import PlatformSetting

    # A row saved before durations were bounded: every bank-transfer checkout then failed.
    PlatformSetting.objects.create(key="checkout.unpaid_order_expiry_hours", value=10**30)
    platform_settings.invalidate_cache()
    now = timezone.now()

    assert order_expiry(now) == now + timedelta(hours=24)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("checkout.allowed_payment_methods", ["cod\x00"]),
        ("checkout.allowed_payment_methods", ["\ud800"]),
        (
            "bank_transfer.account",
            {"bank_name": "Bank\x00", "account_name": "Shop", "account_number": "0123456789"},
        ),
    ],
    ids=["nul in a list", "lone surrogate", "nul in the bank account"],
)
def test_text_postgresql_cannot_store_is_refused(key, value):
    with pytest.raises(ValidationError):
        set_setting(key, value)
