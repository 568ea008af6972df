"""The product admin never writes a stock figure back; stock changes are adjustments."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.adjustments import adjust_stock
from inventory.admin import ProductAdmin
from inventory.models import StockMovement
from orders.services import mark_paid
from shop.models import Product
from tests.conftest import admin_login
from tests.factories import ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return StaffFactory.create(is_superuser=True)


def logged_in(client, user):
    admin_login(client, user)
    return client


def change_url(product) -> str:
    return reverse("admin:shop_product_change", args=[product.pk])


def adjust_url(product) -> str:
    return reverse("admin:shop_product_adjust_stock", args=[product.pk])


def sell(product, units: int):
    """A customer buys and pays for ``units`` of the product."""
    order = place(UserFactory.create(), [(product, units)]).order
    return mark_paid(order_id=order.pk, amount=order.total, currency=order.currency)


def product_form(product, **changes) -> dict[str, str]:
    """The change form as the editor saw it (and a stock field, as an old page had one)."""
    return {
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "price": str(product.price),
        "currency": product.currency,
        "is_active": "on" if product.is_active else "",
        "stock": str(product.stock),
        "_save": "Save",
        **changes,
    }


def stock_of(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def test_saving_the_product_form_after_a_sale_does_not_write_the_old_stock_back(client, superuser):
    product = ProductFactory.create(stock=10, name="Serum")
    page = logged_in(client, superuser).get(change_url(product))
    assert page.status_code == 200
    assert b'name="stock"' not in page.content  # stock is read-only on the form
    seen = product_form(product, name="Serum 30ml")  # the editor's form, opened at stock 10

    sell(product, 3)  # a customer pays in the meantime
    saved = client.post(change_url(product), seen)

    assert saved.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.stock) == ("Serum 30ml", 7)


def test_a_sale_between_the_admin_reading_and_saving_the_product_is_kept(
    client, superuser, monkeypatch
):
    """The form's save writes only the fields it changed, so not even a sale that lands after
    the admin read the row (for this POST) is overwritten."""
    product = ProductFactory.create(stock=10)
    original = ProductAdmin.save_model

    def sale_lands_first(self, request, obj, form, change):
        adjust_stock(product_id=obj.pk, delta=-4, reason="Sold at the counter")
        original(self, request, obj, form, change)

    monkeypatch.setattr(ProductAdmin, "save_model", sale_lands_first)
    with CaptureQueriesContext(connection) as queries:
        saved = logged_in(client, superuser).post(
            change_url(product), product_form(product, price="2600.00")
        )

    assert saved.status_code == 302
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("2600.00"), 6)
    product_updates = [
        q["sql"] for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "shop_product"') and "CASE" not in q["sql"]
    ]  # fmt: skip
    assert len(product_updates) == 1
    assert '"stock"' not in product_updates[0]


def test_a_product_added_in_the_admin_records_its_initial_stock(client, superuser):
    response = logged_in(client, superuser).post(
        "/admin/shop/product/add/",
        {
            "sku": "NEW-SKU",
            "name": "New cream",
            "description": "",
            "price": "5000.00",
            "currency": "NGN",
            "stock": "8",
            "is_active": "on",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    product = Product.objects.get(sku="NEW-SKU")
    movement = StockMovement.objects.get(product=product)
    assert (product.stock, movement.kind, movement.delta, movement.actor) == (
        8,
        "initial",
        8,
        superuser,
    )


def test_adjusting_stock_in_the_admin_records_who_and_why(client, superuser):
    product = ProductFactory.create(stock=10)
    form = logged_in(client, superuser).get(adjust_url(product))
    assert form.status_code == 200
    assert b'name="stock_seen" value="10"' in form.content

    done = client.post(
        adjust_url(product),
        {"mode": "add", "quantity": "5", "stock_seen": "10", "reason": "Delivery 4411"},
    )

    assert done.status_code == 302
    assert done["Location"] == change_url(product)
    assert stock_of(product) == 15
    movement = StockMovement.objects.get(product=product)
    assert (movement.kind, movement.delta, movement.stock_after) == ("adjustment", 5, 15)
    assert (movement.actor, movement.reason) == (superuser, "Delivery 4411")
    page = client.get(change_url(product))
    assert b'id="recent-stock-movements"' in page.content
    assert b"Delivery 4411" in page.content
    assert b'id="adjust-stock"' in page.content


def test_a_counted_figure_over_a_stock_that_moved_is_a_form_error(client, superuser):
    product = ProductFactory.create(stock=10)
    logged_in(client, superuser).get(adjust_url(product))  # the editor sees 10
    sell(product, 3)

    refused = client.post(
        adjust_url(product),
        {"mode": "set", "quantity": "12", "stock_seen": "10", "reason": "Stock take"},
    )

    assert refused.status_code == 200
    assert b"The stock changed since this page was opened: it is now 7" in refused.content
    assert b"(stock_changed)" in refused.content
    # The page now shows 7 and a resubmit is judged against 7.
    assert b'name="stock_seen" value="7"' in refused.content
    assert stock_of(product) == 7
    assert list(StockMovement.objects.values_list("kind", flat=True)) == ["sale"]


@pytest.mark.parametrize(
    ("post", "error"),
    [
        ({"mode": "remove", "quantity": "11"}, b"Stock cannot go below zero. (stock_negative)"),
        ({"mode": "add", "quantity": "0"}, b"Add or remove at least one unit."),
        ({"mode": "add", "quantity": "1", "reason": ""}, b"This field is required."),
        ({"mode": "add", "quantity": "1", "reason": "   "}, b"This field is required."),
        ({"mode": "set", "quantity": "-1"}, b"Ensure this value is greater than or equal to 0"),
        ({"mode": "add", "quantity": "99999999999"}, b"Ensure this value is less than or equal"),
        ({"mode": "steal", "quantity": "1"}, b"Select a valid choice."),
        ({"mode": "set", "quantity": "1", "stock_seen": "x"}, b"Enter a whole number."),
    ],
)
def test_refused_adjustments_are_form_errors_and_change_nothing(client, superuser, post, error):
    product = ProductFactory.create(stock=10)
    data = {"stock_seen": "10", "reason": "Broken", **post}
    refused = logged_in(client, superuser).post(adjust_url(product), data)
    assert refused.status_code == 200
    assert error in refused.content
    assert stock_of(product) == 10
    assert not StockMovement.objects.exists()


def test_adjusting_stock_needs_the_adjust_permission_on_the_form_and_the_post(client):
    product = ProductFactory.create(stock=10)
    catalog_editor = StaffFactory.create()
    catalog_editor.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_product", "change_product"])
    )
    logged_in(client, catalog_editor)
    assert b'id="adjust-stock"' not in client.get(change_url(product)).content
    assert client.get(adjust_url(product)).status_code == 403
    forged = client.post(
        adjust_url(product), {"mode": "add", "quantity": "5", "stock_seen": "10", "reason": "x"}
    )
    assert forged.status_code == 403
    assert stock_of(product) == 10

    stock_keeper = StaffFactory.create()
    stock_keeper.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_product", "adjust_stock"])
    )
    logged_in(client, stock_keeper)
    assert b'id="adjust-stock"' in client.get(change_url(product)).content
    done = client.post(
        adjust_url(product), {"mode": "remove", "quantity": "2", "stock_seen": "10", "reason": "x"}
    )
    assert done.status_code == 302
    assert stock_of(product) == 8


def test_adjusting_an_unknown_product_is_a_404(client, superuser):
    assert (
        logged_in(client, superuser).get("/admin/shop/product/999999/adjust-stock/").status_code
        == 404
    )


def test_the_ledger_list_filters_by_kind_and_searches_sku_and_order_number(
    client: Client, superuser
):
    serum, soap = (
        ProductFactory.create(stock=10, sku="SERUM-30"),
        ProductFactory.create(stock=10, sku="SOAP-1"),
    )
    order = sell(serum, 2)
    adjust_stock(product_id=soap.pk, delta=3, reason="Delivery")
    ledger_url = reverse("admin:inventory_stockmovement_changelist")
    logged_in(client, superuser)

    def rows(query: str) -> int:
        page = client.get(f"{ledger_url}?{query}")
        assert page.status_code == 200
        return page.content.count(b'class="field-product_sku"')

    assert rows("") == 2
    assert rows("kind__exact=sale") == 1
    assert rows("kind__exact=adjustment") == 1
    assert rows("q=SOAP") == 1
    assert rows(f"q={order.number}") == 1
    assert rows(f"product__id__exact={serum.pk}") == 1


def test_the_ledger_is_read_only_in_the_admin(client, superuser):
    movement = adjust_stock(product_id=ProductFactory.create(stock=1).pk, delta=1, reason="Found")
    assert movement is not None
    logged_in(client, superuser)
    assert client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    page = client.get(reverse("admin:inventory_stockmovement_change", args=[movement.pk]))
    assert page.status_code == 200
    assert b'name="reason"' not in page.content
    deleted = client.post(reverse("admin:inventory_stockmovement_delete", args=[movement.pk]))
    assert deleted.status_code == 403
    assert StockMovement.objects.filter(pk=movement.pk).exists()


def test_a_product_with_stock_history_cannot_be_deleted_only_deactivated(client, superuser):
    product = ProductFactory.create(stock=3)
    adjust_stock(product_id=product.pk, delta=1, reason="Found one")
    logged_in(client, superuser)

    page = client.post(reverse("admin:shop_product_delete", args=[product.pk]), {"post": "yes"})

    assert page.status_code == 200
    assert b"<title>Cannot delete product" in page.content
    assert Product.objects.filter(pk=product.pk).exists()
