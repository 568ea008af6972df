"""Request bodies the JSON decoder cannot handle are refused like any malformed JSON."""

import pytest
from knox.models import AuthToken

from shop.models import Address, CartItem, User
from tests.shop.helpers import assert_error

# Deep enough to exhaust Python's recursion limit (1000) in the decoder.
TOO_DEEP = {
    "array": "[" * 100_000,
    "object": '{"a":' * 100_000,
    "closed array": "[" * 100_000 + "]" * 100_000,
    "inside a field": '{"email": "a@example.com", "password": ' + "[" * 100_000,
}


@pytest.mark.django_db
@pytest.mark.parametrize("body", TOO_DEEP.values(), ids=TOO_DEEP.keys())
def test_deeply_nested_json_to_a_public_endpoint_is_a_malformed_request(api_client, body):
    for url in ("/api/auth/token/", "/api/auth/register/"):
        response = api_client.post(url, body, content_type="application/json")

        error = assert_error(response, 400, "malformed_request")
        assert error["message"].startswith("JSON parse error")
        assert error["details"] == {}
    assert not User.objects.exists()
    assert not AuthToken.objects.exists()
    # an ordinary nesting depth is still parsed, and then validated
    body = '{"email": "a@example.com", "password": ' + "[" * 50 + "]" * 50 + "}"
    response = api_client.post("/api/auth/token/", body, content_type="application/json")
    assert list(assert_error(response, 400, "validation_error")["details"]["fields"]) == [
        "password"
    ]


@pytest.mark.django_db
def test_deeply_nested_json_from_a_customer_changes_nothing(customer, customer_client, product):
    body = "[" * 100_000

    for method, url in [
        (customer_client.patch, "/api/auth/me/"),
        (customer_client.post, "/api/cart/items/"),
        (customer_client.post, "/api/addresses/"),
    ]:
        assert_error(method(url, body, content_type="application/json"), 400, "malformed_request")

    first_name = customer.first_name
    customer.refresh_from_db()
    assert customer.first_name == first_name
    assert not CartItem.objects.exists()
    assert not Address.objects.exists()
