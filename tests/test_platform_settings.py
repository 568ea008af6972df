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
