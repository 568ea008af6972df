import io

import pytest
from django.core.management import call_command

from tests.shop.helpers import assert_error


@pytest.mark.django_db
def test_openapi_schema_generates_without_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()
    for path in [
        "/api/auth/register/",
        "/api/auth/token/",
        "/api/auth/me/",
        "/api/products/",
        "/api/products/{id}/",
        "/api/cart/",
        "/api/cart/items/",
        "/api/cart/items/{item_id}/",
        "/api/addresses/",
        "/api/addresses/{address_id}/",
    ]:
        assert f"  {path}:" in schema


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    cart_add = paths["/api/cart/items/"]["post"]
    # 403: a cookie session without its CSRF token; 503: the database away (core/schema.py)
    assert set(cart_add["responses"]) == {"201", "400", "401", "403", "404", "409", "503"}
    assert cart_add["security"] == [{"tokenAuth": []}, {"cookieAuth": []}]
    assert "security" not in schema.json()  # no global requirement: public means public
    assert "security" not in paths["/api/products/"]["get"]
    assert "security" not in paths["/api/auth/register/"]["post"]
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_malformed_json_answers_malformed_request(customer_client):
    response = customer_client.patch("/api/auth/me/", b"\xff\xfe{", content_type="application/json")
    error = assert_error(response, 400, "malformed_request")
    assert error["details"] == {}


@pytest.mark.django_db
def test_wrong_method_answers_method_not_allowed(customer_client):
    assert_error(customer_client.put("/api/cart/", {}, format="json"), 405, "method_not_allowed")
