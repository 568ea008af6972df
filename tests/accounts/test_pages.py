"""The API docs and the admin: self-hosted scripts, and a Content-Security-Policy."""

import pytest
from django.test import Client

from notifications.events import HIDDEN
from tests.conftest import admin_login
from tests.factories import NotificationFactory, StaffFactory

pytestmark = pytest.mark.django_db


def csp(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def test_the_api_docs_load_swagger_ui_from_our_static_files_under_a_csp(client):
    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "<script>" not in html  # the start-up script is a file of its own
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert csp(page)["script-src"] == "'self'"
    assert csp(page)["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("path", ["/admin/login/", "/admin/", "/admin/two-factor/"])
def test_admin_pages_send_a_csp(path):
    client = Client()
    if path != "/admin/login/":
        admin_login(client, StaffFactory.create(is_superuser=True))

    response = client.get(path)

    assert response.status_code == 200
    assert csp(response)["default-src"] == "'self'"
    assert csp(response)["script-src"] == "'self'"
    assert csp(response)["object-src"] == "'none'"


def test_the_outbox_admin_never_shows_a_reset_link():
    link = "https://shop.example.com/account/reset/?uid=MTIz&token=cz1p4q-secret"
    message = NotificationFactory.create(
        template="password_reset",
        context={"customer_name": "Ada Obi", "reset_url": link, "valid_for": "1 hour"},
    )
    client = admin_login(Client(), StaffFactory.create(is_superuser=True))

    page = client.get(f"/admin/notifications/notification/{message.pk}/change/")

    assert page.status_code == 200
    assert b"cz1p4q-secret" not in page.content
    assert HIDDEN.encode() in page.content
