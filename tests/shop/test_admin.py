import pytest

from shop.models import PlatformSetting, Product, User
from shop.platform_settings import get_setting, invalidate_cache
from tests.factories import CartItemFactory, ProductFactory, StaffFactory


@pytest.fixture
def admin_client(client, db):
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
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
def test_admin_product_list_shows_available_and_edits_stock(admin_client):
    product = ProductFactory(stock=4)
    page = admin_client.get("/admin/shop/product/")
    assert b'class="field-available">4<' in page.content

    response = admin_client.post(
        "/admin/shop/product/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(product.pk),
            "form-0-stock": "25",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.stock == 25


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
    assert b"Must be a positive whole number." in refused.content
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
