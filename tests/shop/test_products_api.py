from decimal import Decimal

import pytest

from shop.selectors import product_available
from tests.factories import ProductFactory
from tests.shop.helpers import assert_error


@pytest.mark.django_db
def test_product_list_is_public_paginated_and_shows_only_active(api_client):
    serum = ProductFactory(sku="SER-1", name="Serum", price=Decimal("15500.00"), stock=7)
    ProductFactory(sku="OLD-1", name="Retired cream", is_active=False)
    balm = ProductFactory(sku="BAL-1", name="Balm", price=Decimal("2500.50"), stock=0)

    response = api_client.get("/api/products/")

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": balm.pk,
                "sku": "BAL-1",
                "name": "Balm",
                "description": "A product for tests.",
                "price": "2500.50",
                "currency": "NGN",
                "available": 0,
            },
            {
                "id": serum.pk,
                "sku": "SER-1",
                "name": "Serum",
                "description": "A product for tests.",
                "price": "15500.00",
                "currency": "NGN",
                "available": 7,
            },
        ],
    }


@pytest.mark.django_db
def test_product_list_pages(api_client):
    for n in range(25):
        ProductFactory(name=f"P{n:02d}")
    first = api_client.get("/api/products/").json()
    assert first["count"] == 25
    assert len(first["results"]) == 20
    second = api_client.get("/api/products/?page=2").json()
    assert [p["name"] for p in second["results"]] == [f"P{n:02d}" for n in range(20, 25)]
    assert len(api_client.get("/api/products/?page_size=5").json()["results"]) == 5


@pytest.mark.django_db
def test_product_list_page_out_of_range_is_not_found(api_client):
    ProductFactory()
    assert_error(api_client.get("/api/products/?page=9"), 404, "not_found")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("serum", ["Vitamin C Serum"]),
        ("vit-", ["Vitamin C Serum"]),
        ("shea", ["Night Cream"]),
        ("night cream", ["Night Cream"]),
        ("cream serum", []),
        ("", ["Night Cream", "Vitamin C Serum"]),
    ],
)
def test_product_search_matches_name_sku_and_description(api_client, search, expected):
    ProductFactory(sku="VIT-C", name="Vitamin C Serum", description="Brightening.")
    ProductFactory(sku="NGT-1", name="Night Cream", description="With shea butter.")
    ProductFactory(sku="SHEA-OLD", name="Old shea serum", is_active=False)

    response = api_client.get("/api/products/", {"search": search})

    assert [p["name"] for p in response.json()["results"]] == expected


@pytest.mark.django_db
def test_product_detail_shows_available(api_client):
    product = ProductFactory(stock=3)
    response = api_client.get(f"/api/products/{product.pk}/")
    assert response.status_code == 200
    assert response.json()["available"] == 3
    assert response.json()["id"] == product.pk


@pytest.mark.django_db
def test_product_detail_of_inactive_or_unknown_product_is_not_found(api_client):
    inactive = ProductFactory(is_active=False)
    assert_error(api_client.get(f"/api/products/{inactive.pk}/"), 404, "not_found")
    assert_error(api_client.get(f"/api/products/{inactive.pk + 1000}/"), 404, "not_found")
    assert_error(api_client.get("/api/products/abc/"), 404, "not_found")


@pytest.mark.django_db
def test_products_are_readable_with_a_customer_token(customer_client, product):
    assert customer_client.get(f"/api/products/{product.pk}/").status_code == 200


@pytest.mark.django_db
def test_product_writes_are_not_allowed(customer_client, product):
    assert_error(
        customer_client.post("/api/products/", {}, format="json"), 405, "method_not_allowed"
    )
    assert_error(customer_client.delete(f"/api/products/{product.pk}/"), 405, "method_not_allowed")


@pytest.mark.django_db
def test_product_available_selector_is_stock_for_now():
    product = ProductFactory(stock=12)
    assert product_available(product_id=product.pk) == 12
    assert product_available(product_id=product.pk + 1) == 0


@pytest.mark.django_db
def test_product_list_costs_two_queries_whatever_the_page_size(
    api_client, django_assert_num_queries
):
    for _ in range(15):
        ProductFactory()
    with django_assert_num_queries(2):  # count, page
        assert len(api_client.get("/api/products/").json()["results"]) == 15


@pytest.mark.django_db
@pytest.mark.parametrize("search", ["\x00", "serum\x00", "night \x00 cream"])
def test_product_search_with_a_nul_character_is_a_validation_error(api_client, search):
    ProductFactory(name="Vitamin C Serum")

    response = api_client.get("/api/products/", {"search": search})

    error = assert_error(response, 400, "validation_error")
    assert error["details"]["fields"] == {"search": ["Null characters are not allowed."]}


@pytest.mark.django_db
def test_product_search_longer_than_100_characters_is_a_validation_error(api_client):
    ProductFactory(name="Vitamin C Serum")
    assert api_client.get("/api/products/", {"search": "serum " * 16 + "c"}).status_code == 200

    response = api_client.get("/api/products/", {"search": "a " * 50 + "b"})

    error = assert_error(response, 400, "validation_error")
    assert list(error["details"]["fields"]) == ["search"]
