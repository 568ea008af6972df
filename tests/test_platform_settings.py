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
