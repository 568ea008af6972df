import pytest

from shop.models import PlatformSetting, Product, User
from shop.platform_settings import get_setting, invalidate_cache, set_setting
from tests.conftest import admin_login
from tests.factories import (
    AddressFactory,
    CartItemFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
)


@pytest.fixture
def admin_client(client, db):
    staff = StaffFactory(is_superuser=True)
    admin_login(client, staff)
    client.staff = staff
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/admin/shop/product/",
        "/admin/shop/product/?q=serum&is_active__exact=1",
        "/admin/shop/user/",
        "/admin/shop/user/add/",
        "/admin/shop/cart/",
        "/admin/shop/address/",
        "/admin/shop/platformsetting/",
        "/admin/shop/platformsetting/add/",
    ],
)
def test_admin_pages_render(admin_client, url):
    ProductFactory(name="Serum")
    CartItemFactory()
    assert admin_client.get(url).status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_settings_cache")
def test_admin_change_pages_render(admin_client):
    customer = UserFactory()
    address = AddressFactory(customer=customer)
    setting = set_setting("ops.archive_after_days", 120)
    for url in [
        f"/admin/shop/user/{customer.pk}/change/",
        f"/admin/shop/address/{address.pk}/change/",
        f"/admin/shop/platformsetting/{setting.pk}/change/",
    ]:
        assert admin_client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_admin_address_edit_normalises_phone_and_refuses_bad_country(admin_client):
    address = AddressFactory()
    form = {
        "customer": str(address.customer_id),
        "full_name": "Ada Obi",
        "phone": "0809 999 0000",
        "line1": "1 Marina",
        "line2": "",
        "city": "Lagos",
        "state": "Lagos",
        "postal_code": "",
        "country": "ng",
    }
    url = f"/admin/shop/address/{address.pk}/change/"

    refused = admin_client.post(url, {**form, "country": "QQ"})
    assert refused.status_code == 200
    assert b"Use a 2-letter ISO 3166-1 country code" in refused.content
    address.refresh_from_db()
    assert address.phone == "+2348031234567"

    assert admin_client.post(url, form).status_code == 302
    address.refresh_from_db()
    assert (address.phone, address.country, address.line1) == ("+2348099990000", "NG", "1 Marina")


@pytest.mark.django_db
def test_admin_product_list_shows_available_and_no_stock_to_edit(admin_client):
    """The list edited stock in place (list_editable) and wrote back the figure shown when the
    page was opened (issue 15): it shows stock and availability, and a posted stock figure
    changes nothing (stock changes are adjustments, tests/inventory/test_stock_admin.py)."""
    product = ProductFactory(stock=4)
    page = admin_client.get("/admin/shop/product/")
    assert b'class="field-available">4<' in page.content
    assert b'name="form-0-stock"' not in page.content

    admin_client.post(
        "/admin/shop/product/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(product.pk),
            "form-0-stock": "25",
            "_save": "Save",
        },
    )

    product.refresh_from_db()
    assert product.stock == 4


@pytest.mark.django_db
def test_admin_cart_change_page_shows_lines_read_only(admin_client):
    item = CartItemFactory(quantity=3)
    page = admin_client.get(f"/admin/shop/cart/{item.cart.pk}/change/")
    assert page.status_code == 200
    assert str(item.product).encode() in page.content


@pytest.fixture
def fresh_settings_cache():
    # the test's rows are rolled back, so the cached copy of them must not outlive the test
    invalidate_cache()
    yield
    invalidate_cache()


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_settings_cache")
def test_admin_platform_setting_is_validated_and_saved_through_the_registry(admin_client):
    refused = admin_client.post(
        "/admin/shop/platformsetting/add/",
        {"key": "checkout.lock_ttl_minutes", "value": "-5"},
    )
    assert refused.status_code == 200
    assert b"Must be a whole number from 1 to 10080." in refused.content
    assert not PlatformSetting.objects.exists()

    saved = admin_client.post(
        "/admin/shop/platformsetting/add/",
        {"key": "checkout.lock_ttl_minutes", "value": "45"},
    )

    assert saved.status_code == 302
    row = PlatformSetting.objects.get()
    assert (row.key, row.value, row.updated_by) == (
        "checkout.lock_ttl_minutes",
        45,
        admin_client.staff,
    )
    assert row.description.startswith("Minutes a gateway checkout")
    assert get_setting("checkout.lock_ttl_minutes") == 45


@pytest.mark.django_db
def test_admin_customer_is_created_with_email_login(admin_client):
    response = admin_client.post(
        "/admin/shop/user/add/",
        {
            "email": "new.staff@example.com",
            "password1": "lagos-sunrise-2026",
            "password2": "lagos-sunrise-2026",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(email="new.staff@example.com").check_password("lagos-sunrise-2026")
    assert Product.objects.count() == 0


@pytest.mark.django_db
def test_admin_refuses_a_second_default_address_instead_of_crashing(admin_client):
    first = AddressFactory(is_default=True)
    second = AddressFactory(customer=first.customer)
    response = admin_client.post(
        f"/admin/shop/address/{second.pk}/change/",
        {
            "customer": str(first.customer_id),
            "full_name": second.full_name,
            "phone": second.phone,
            "line1": second.line1,
            "city": second.city,
            "country": "NG",
            "is_default": "on",
        },
    )
    assert response.status_code == 200
    assert b"address_one_default_per_customer" in response.content
    second.refresh_from_db()
    assert second.is_default is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/admin/shop/product/?currency__exact=%00",
        "/admin/shop/address/?country__exact=NG%00",
    ],
)
def test_admin_list_filter_with_a_nul_character_is_refused_like_a_bad_filter(admin_client, url):
    ProductFactory()
    AddressFactory()
    response = admin_client.get(url)
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_settings_cache")
@pytest.mark.parametrize(
    "value",
    ["[" * 5000, "1" + "0" * 5000, '["cod\\u0000"]'],
    ids=["nested too deeply", "integer too long", "nul character"],
)
def test_admin_platform_setting_refuses_json_python_or_postgresql_cannot_take(admin_client, value):
    response = admin_client.post(
        "/admin/shop/platformsetting/add/",
        {"key": "checkout.allowed_payment_methods", "value": value},
    )

    assert response.status_code == 200  # the form again, with its error
    assert b"errorlist" in response.content
    assert not PlatformSetting.objects.exists()
