"""The OpenAPI schema describes the order lists as the pages they are served in."""

import pytest

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _resolve(schema: dict, node: dict) -> dict:
    ref = node.get("$ref")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


@pytest.mark.parametrize(
    ("path", "item"),
    [("/api/orders/", "OrderSummary"), ("/api/staff/orders/", "StaffOrderSummary")],
)
def test_order_lists_are_documented_as_pages(client, path, item):
    schema = _schema(client)
    operation = schema["paths"][path]["get"]

    page = _resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    assert page["properties"]["results"]["items"] == {"$ref": f"#/components/schemas/{item}"}
    assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"]}


def test_a_served_order_list_has_the_documented_keys(client, customer):
    schema = _schema(client)
    documented = _resolve(
        schema,
        schema["paths"]["/api/orders/"]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ],
    )

    body = client_for(customer).get("/api/orders/").json()

    assert set(body) == set(documented["properties"])
