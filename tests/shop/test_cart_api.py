from decimal import Decimal

import pytest
from django.test import override_settings

from shop import services
from shop.models import Cart, CartItem
from tests.factories import CartItemFactory, ProductFactory, UserFactory
from tests.shop.helpers import assert_error, db_state

CART = "/api/cart/"
ITEMS = "/api/cart/items/"


def item_url(item_id: int) -> str:
    return f"/api/cart/items/{item_id}/"


@pytest.fixture
def serum(db):
    return ProductFactory(sku="SER-1", name="Serum", price=Decimal("15500.00"), stock=10)


@pytest.fixture
def balm(db):
    return ProductFactory(sku="BAL-1", name="Balm", price=Decimal("2500.50"), stock=50)


@pytest.mark.django_db
def test_cart_endpoints_require_authentication(api_client, customer, product):
    item = CartItemFactory(cart__customer=customer, product=product)
    before = db_state()
    assert_error(api_client.get(CART), 401, "not_authenticated")
    assert_error(
        api_client.post(ITEMS, {"product_id": product.pk, "quantity": 1}, format="json"),
        401,
        "not_authenticated",
    )
    assert_error(
        api_client.patch(item_url(item.pk), {"quantity": 2}, format="json"),
        401,
        "not_authenticated",
    )
    assert_error(api_client.delete(item_url(item.pk)), 401, "not_authenticated")
    assert db_state() == before


@pytest.mark.django_db
def test_empty_cart_reads_without_creating_one(customer_client):
    response = customer_client.get(CART)
    assert response.status_code == 200
    assert response.json() == {"items": [], "item_count": 0, "currency": "", "total": "0.00"}
    assert not Cart.objects.exists()


@pytest.mark.django_db
def test_add_items_prices_lines_and_total(customer, customer_client, serum, balm):
    first = customer_client.post(ITEMS, {"product_id": serum.pk, "quantity": 2}, format="json")
    assert first.status_code == 201

    response = customer_client.post(ITEMS, {"product_id": balm.pk, "quantity": 3}, format="json")

    assert response.status_code == 201
    serum_line = CartItem.objects.get(product=serum)
    balm_line = CartItem.objects.get(product=balm)
    assert response.json() == {
        "items": [
            {
                "id": serum_line.pk,
                "product": {"id": serum.pk, "sku": "SER-1", "name": "Serum"},
                "quantity": 2,
                "unit_price": "15500.00",
                "line_total": "31000.00",
            },
            {
                "id": balm_line.pk,
                "product": {"id": balm.pk, "sku": "BAL-1", "name": "Balm"},
                "quantity": 3,
                "unit_price": "2500.50",
                "line_total": "7501.50",
            },
        ],
        "item_count": 5,
        "currency": "NGN",
        "total": "38501.50",
    }
    assert customer_client.get(CART).json() == response.json()
    assert Cart.objects.get().customer == customer


@pytest.mark.django_db
def test_adding_a_product_already_in_the_cart_grows_its_line(customer_client, serum):
    customer_client.post(ITEMS, {"product_id": serum.pk, "quantity": 2}, format="json")
    response = customer_client.post(ITEMS, {"product_id": serum.pk, "quantity": 3}, format="json")

    assert response.status_code == 201
    assert list(CartItem.objects.values_list("product_id", "quantity")) == [(serum.pk, 5)]
    assert response.json()["total"] == "77500.00"


@pytest.mark.django_db
def test_cart_shows_current_prices(customer_client, serum):
    customer_client.post(ITEMS, {"product_id": serum.pk, "quantity": 2}, format="json")
    serum.price = Decimal("14000.00")
    serum.save()
    body = customer_client.get(CART).json()
    assert (body["items"][0]["unit_price"], body["total"]) == ("14000.00", "28000.00")


@pytest.mark.django_db
def test_cart_refuses_a_second_currency(customer_client, serum):
    customer_client.post(ITEMS, {"product_id": serum.pk, "quantity": 1}, format="json")
    dollars = ProductFactory(currency="USD", price=Decimal("20.00"))
    before = db_state()

    response = customer_client.post(ITEMS, {"product_id": dollars.pk, "quantity": 1}, format="json")

    error = assert_error(response, 409, "currency_mismatch")
    assert error["details"] == {"cart_currency": "NGN", "product_currency": "USD"}
    assert db_state() == before


@pytest.mark.django_db
def test_emptied_cart_accepts_another_currency(customer_client, serum):
    customer_client.post(ITEMS, {"product_id": serum.pk, "quantity": 1}, format="json")
    customer_client.delete(item_url(CartItem.objects.get().pk))
    dollars = ProductFactory(currency="USD", price=Decimal("20.00"))

    response = customer_client.post(ITEMS, {"product_id": dollars.pk, "quantity": 1}, format="json")

    assert response.status_code == 201
    assert (response.json()["currency"], response.json()["total"]) == ("USD", "20.00")


@pytest.mark.django_db
@pytest.mark.parametrize("product_id", [999999, 10**20])
def test_add_unknown_product_is_product_not_found(customer_client, product_id):
    before = db_state()
    response = customer_client.post(ITEMS, {"product_id": product_id, "quantity": 1}, format="json")
    error = assert_error(response, 404, "product_not_found")
    assert error["details"] == {"product_id": product_id}
    assert db_state() == before


@pytest.mark.django_db
def test_add_inactive_product_is_refused(customer_client):
    retired = ProductFactory(is_active=False)
    before = db_state()
    response = customer_client.post(ITEMS, {"product_id": retired.pk, "quantity": 1}, format="json")
    assert_error(response, 409, "product_inactive")
    assert db_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quantity": 1}, "product_id"),
        ({"product_id": "PRODUCT"}, "quantity"),
        ({"product_id": "abc", "quantity": 1}, "product_id"),
        ({"product_id": -4, "quantity": 1}, "product_id"),
        ({"product_id": "PRODUCT", "quantity": 0}, "quantity"),
        ({"product_id": "PRODUCT", "quantity": -1}, "quantity"),
        ({"product_id": "PRODUCT", "quantity": 100}, "quantity"),
        ({"product_id": "PRODUCT", "quantity": 10**12}, "quantity"),
        ({"product_id": "PRODUCT", "quantity": 1.5}, "quantity"),
        ({"product_id": "PRODUCT", "quantity": "two"}, "quantity"),
        ({"product_id": "PRODUCT", "quantity": None}, "quantity"),
    ],
)
def test_add_refuses_bad_input_and_changes_nothing(customer, customer_client, serum, data, field):
    data = {k: serum.pk if v == "PRODUCT" else v for k, v in data.items()}
    CartItemFactory(cart__customer=customer, product=serum)
    before = db_state()

    error = assert_error(customer_client.post(ITEMS, data, format="json"), 400, "validation_error")

    assert list(error["details"]["fields"]) == [field]
    assert db_state() == before


@pytest.mark.django_db
def test_add_refuses_a_non_object_body(customer_client):
    error = assert_error(
        customer_client.post(ITEMS, [1, 2], format="json"), 400, "validation_error"
    )
    assert "non_field_errors" in error["details"]["fields"]
    assert not CartItem.objects.exists()


@pytest.mark.django_db
def test_add_malformed_json_is_refused(customer_client):
    response = customer_client.post(ITEMS, "{product_id: 1", content_type="application/json")
    assert_error(response, 400, "malformed_request")
    assert not Cart.objects.exists()


@pytest.mark.django_db
def test_add_form_encoded_body_is_unsupported(customer_client, serum):
    response = customer_client.post(ITEMS, {"product_id": serum.pk, "quantity": 1})
    assert_error(response, 415, "unsupported_media_type")
    assert not CartItem.objects.exists()


@pytest.mark.django_db
def test_line_cannot_grow_past_the_maximum(customer, customer_client):
    plenty = ProductFactory(stock=500)
    CartItemFactory(cart__customer=customer, product=plenty, quantity=98)
    before = db_state()

    response = customer_client.post(ITEMS, {"product_id": plenty.pk, "quantity": 2}, format="json")

    error = assert_error(response, 400, "quantity_limit_exceeded")
    assert error["details"] == {"max_quantity": 99, "in_cart": 98}
    assert db_state() == before


@pytest.mark.django_db
@override_settings(CART_MAX_QUANTITY=5)
def test_maximum_quantity_is_a_setting(customer_client):
    plenty = ProductFactory(stock=500)
    response = customer_client.post(ITEMS, {"product_id": plenty.pk, "quantity": 6}, format="json")
    assert_error(response, 400, "quantity_limit_exceeded")
    assert not CartItem.objects.exists()


@pytest.mark.django_db
def test_add_more_than_available_is_insufficient_stock(customer, customer_client, serum):
    CartItemFactory(cart__customer=customer, product=serum, quantity=8)
    before = db_state()

    response = customer_client.post(ITEMS, {"product_id": serum.pk, "quantity": 3}, format="json")

    error = assert_error(response, 409, "insufficient_stock")
    assert error["details"] == {
        "products": [
            {
                "product_id": serum.pk,
                "sku": serum.sku,
                "name": serum.name,
                "requested": 11,
                "available": 10,
            }
        ]
    }
    assert db_state() == before


@pytest.mark.django_db
def test_patch_sets_the_line_quantity(customer, customer_client, serum):
    item = CartItemFactory(cart__customer=customer, product=serum, quantity=1)
    response = customer_client.patch(item_url(item.pk), {"quantity": 4}, format="json")
    assert response.status_code == 200
    assert response.json()["items"][0]["quantity"] == 4
    assert response.json()["total"] == "62000.00"
    item.refresh_from_db()
    assert item.quantity == 4


@pytest.mark.django_db
def test_patch_above_available_is_refused(customer, customer_client, serum):
    item = CartItemFactory(cart__customer=customer, product=serum, quantity=1)
    before = db_state()
    response = customer_client.patch(item_url(item.pk), {"quantity": 11}, format="json")
    assert_error(response, 409, "insufficient_stock")
    assert db_state() == before


@pytest.mark.django_db
def test_patch_can_lower_a_line_of_a_retired_product_but_not_raise_it(customer, customer_client):
    retired = ProductFactory(stock=10)
    item = CartItemFactory(cart__customer=customer, product=retired, quantity=3)
    retired.is_active = False
    retired.save()

    assert_error(
        customer_client.patch(item_url(item.pk), {"quantity": 4}, format="json"),
        409,
        "product_inactive",
    )
    assert (
        customer_client.patch(item_url(item.pk), {"quantity": 2}, format="json").status_code == 200
    )
    item.refresh_from_db()
    assert item.quantity == 2


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -3, 100, "many", None, 2.5])
def test_patch_refuses_bad_quantities(customer, customer_client, serum, quantity):
    item = CartItemFactory(cart__customer=customer, product=serum, quantity=1)
    before = db_state()
    response = customer_client.patch(item_url(item.pk), {"quantity": quantity}, format="json")
    error = assert_error(response, 400, "validation_error")
    assert list(error["details"]["fields"]) == ["quantity"]
    assert db_state() == before


@pytest.mark.django_db
def test_patch_malformed_json_is_refused(customer, customer_client, serum):
    item = CartItemFactory(cart__customer=customer, product=serum, quantity=1)
    response = customer_client.patch(
        item_url(item.pk), "quantity=2", content_type="application/json"
    )
    assert_error(response, 400, "malformed_request")
    item.refresh_from_db()
    assert item.quantity == 1


@pytest.mark.django_db
def test_another_customers_line_is_not_found(customer_client, other_customer, serum):
    theirs = CartItemFactory(cart__customer=other_customer, product=serum, quantity=2)
    before = db_state()

    patch = customer_client.patch(item_url(theirs.pk), {"quantity": 1}, format="json")
    delete = customer_client.delete(item_url(theirs.pk))

    assert assert_error(patch, 404, "cart_item_not_found")["details"] == {"item_id": theirs.pk}
    assert_error(delete, 404, "cart_item_not_found")
    assert db_state() == before
    assert customer_client.get(CART).json()["items"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("item_id", [424242, 10**20])
def test_unknown_line_is_not_found(customer_client, item_id):
    assert_error(
        customer_client.patch(item_url(item_id), {"quantity": 1}, format="json"),
        404,
        "cart_item_not_found",
    )
    assert_error(customer_client.delete(item_url(item_id)), 404, "cart_item_not_found")


@pytest.mark.django_db
def test_delete_removes_the_line_and_empties_the_currency(customer, customer_client, serum, balm):
    keep = CartItemFactory(cart__customer=customer, product=serum, quantity=1)
    gone = CartItemFactory(cart=keep.cart, product=balm, quantity=2)

    response = customer_client.delete(item_url(gone.pk))

    assert response.status_code == 200
    assert [line["id"] for line in response.json()["items"]] == [keep.pk]
    assert response.json()["currency"] == "NGN"
    last = customer_client.delete(item_url(keep.pk))
    assert last.json() == {"items": [], "item_count": 0, "currency": "", "total": "0.00"}
    assert Cart.objects.get().currency == ""


@pytest.mark.django_db
def test_cart_clear_empties_only_that_customers_cart(customer, other_customer, serum):
    mine = CartItemFactory(cart__customer=customer, product=serum)
    theirs = CartItemFactory(cart__customer=other_customer, product=serum)

    services.cart_clear(customer=customer)

    assert list(CartItem.objects.values_list("pk", flat=True)) == [theirs.pk]
    mine.cart.refresh_from_db()
    assert mine.cart.currency == ""
    services.cart_clear(customer=UserFactory())  # a customer without a cart: nothing to do


@pytest.mark.django_db
def test_cart_read_costs_the_same_few_queries_for_any_number_of_lines(
    customer, customer_client, django_assert_num_queries
):
    cart = CartItemFactory(cart__customer=customer).cart
    for _ in range(4):
        CartItemFactory(cart=cart)
    # token lookup, cart, lines with their products
    with django_assert_num_queries(3):
        assert len(customer_client.get(CART).json()["items"]) == 5
