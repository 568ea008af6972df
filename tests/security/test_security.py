"""Webhook source allow-list, no CORS, and logged sign-in failures."""

import json
import logging

import pytest
from django.http import HttpResponse
from django.test import override_settings
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from security.webhook_ips import WebhookSourceAllowed, require_webhook_source

PAYSTACK_IP = "52.31.139.75"
ALLOWLIST_ON = {"WEBHOOK_IP_ALLOWLIST_ENABLED": True}


class PaystackWebhookView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny, WebhookSourceAllowed]
    webhook_gateway = "paystack"

    def post(self, request):
        return Response({"received": True})


class GatewayWebhookView(APIView):
    """One view for every gateway, named by the URL."""

    authentication_classes: list = []
    permission_classes = [WebhookSourceAllowed]

    def post(self, request, gateway):
        return Response({"received": gateway})


@require_webhook_source("paystack")
def plain_paystack_webhook(request):
    return HttpResponse("ok")


def post(view, *, address: str, forwarded: str | None = None, **kwargs):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = APIRequestFactory().post("/webhook/", {}, format="json", REMOTE_ADDR=address, **extra)
    response = view(request, **kwargs)
    if hasattr(response, "render"):
        response.render()
    return response


def test_the_allow_list_is_off_by_default():
    response = post(PaystackWebhookView.as_view(), address="203.0.113.50")

    assert response.status_code == 200


@override_settings(**ALLOWLIST_ON)
def test_paystack_webhooks_come_only_from_its_published_addresses():
    allowed = post(PaystackWebhookView.as_view(), address=PAYSTACK_IP)
    refused = post(PaystackWebhookView.as_view(), address="203.0.113.50")

    assert allowed.status_code == 200
    assert refused.status_code == 403
    assert refused.data["error"]["code"] == "webhook_source_not_allowed"


@override_settings(**ALLOWLIST_ON)
def test_a_gateway_without_a_published_list_is_not_restricted():
    view = GatewayWebhookView.as_view()

    assert post(view, address="203.0.113.50", gateway="flutterwave").status_code == 200
    assert post(view, address="203.0.113.50", gateway="stripe").status_code == 200
    assert post(view, address="203.0.113.50", gateway="paystack").status_code == 403


@override_settings(WEBHOOK_ALLOWED_IPS={"stripe": ["3.18.12.0/24"]}, **ALLOWLIST_ON)
def test_lists_come_from_settings_and_take_networks():
    view = GatewayWebhookView.as_view()

    assert post(view, address="3.18.12.63", gateway="stripe").status_code == 200
    assert post(view, address="3.18.13.1", gateway="stripe").status_code == 403


@override_settings(**ALLOWLIST_ON)
def test_a_forged_forwarded_for_header_is_ignored_without_proxies():
    response = post(PaystackWebhookView.as_view(), address="203.0.113.50", forwarded=PAYSTACK_IP)

    assert response.status_code == 403


def test_behind_a_proxy_the_forwarded_address_is_checked(settings):
    settings.WEBHOOK_IP_ALLOWLIST_ENABLED = True
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    view = PaystackWebhookView.as_view()

    via_proxy = post(view, address="10.0.0.2", forwarded=PAYSTACK_IP)
    spoofed_in_front = post(view, address="10.0.0.2", forwarded=f"{PAYSTACK_IP}, 203.0.113.50")

    assert via_proxy.status_code == 200
    assert spoofed_in_front.status_code == 403


@override_settings(**ALLOWLIST_ON)
def test_the_decorator_guards_plain_django_views():
    allowed = post(plain_paystack_webhook, address=PAYSTACK_IP)
    refused = post(plain_paystack_webhook, address="203.0.113.50")

    assert allowed.status_code == 200
    assert refused.status_code == 403
    assert json.loads(refused.content)["error"]["code"] == "webhook_source_not_allowed"


@override_settings(**ALLOWLIST_ON)
def test_a_refused_webhook_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="security.webhook_ips"):
        post(PaystackWebhookView.as_view(), address="203.0.113.50")

    [record] = caplog.records
    assert record.getMessage() == "webhook refused: source address not allowed"
    assert (record.gateway, record.client_ip) == ("paystack", "203.0.113.50")


@pytest.mark.django_db
def test_no_cross_origin_access_is_granted(client, product):
    preflight = client.options(
        "/api/products/",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    read = client.get("/api/products/", HTTP_ORIGIN="https://evil.example")

    for response in (preflight, read):
        assert not any(header.lower().startswith("access-control-") for header in response.headers)


@pytest.mark.django_db
def test_a_failed_admin_sign_in_is_logged_without_the_password(client, customer, caplog):
    with caplog.at_level(logging.WARNING, logger="security.login"):
        client.post(
            "/admin/login/",
            {"username": customer.email, "password": "not-the-password"},
            REMOTE_ADDR="198.51.100.4",
        )
        client.post(
            "/admin/login/",
            {"username": customer.email.upper(), "password": "another-guess"},
            REMOTE_ADDR="198.51.100.4",
        )

    first, second = [r for r in caplog.records if r.name == "security.login"]
    assert first.getMessage() == "login failed"
    assert first.client_ip == "198.51.100.4"
    assert first.email_hash == second.email_hash  # one account, whatever the case
    everything = " ".join(str(vars(record)) for record in caplog.records)
    assert "not-the-password" not in everything
    assert customer.email not in everything


@pytest.mark.django_db
def test_a_failed_api_sign_in_is_logged_too(api_client, customer, caplog):
    with caplog.at_level(logging.WARNING, logger="security.login"):
        api_client.post(
            "/api/auth/token/", {"email": customer.email, "password": "wrong"}, format="json"
        )

    [record] = [r for r in caplog.records if r.name == "security.login"]
    assert record.getMessage() == "login failed"
    assert len(record.email_hash) == 16


@pytest.mark.parametrize(
    ("name", "value"),
    [("THROTTLE_LOGIN_RATE", "5 per minute"), ("AUTH_THROTTLE_RATE", "0/min")],
)
def test_a_malformed_rate_setting_stops_the_start(settings, name, value):
    from security.checks import check_rates

    setattr(settings, name, value)

    [error] = check_rates(None)
    assert error.id == "observability.E001"
    assert error.msg.startswith(f"{name}: ")


def test_the_shipped_rates_pass_the_check():
    from security.checks import check_rates

    assert check_rates(None) == []


def test_a_malformed_allow_list_entry_stops_the_start(settings):
    from security.checks import check_allow_lists

    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "not-an-ip"]
    settings.WEBHOOK_ALLOWED_IPS = {"paystack": ["52.31.139.75", "52.31.139.999"]}

    assert [error.msg for error in check_allow_lists(None)] == [
        "METRICS_ALLOWED_IPS: 'not-an-ip' is not an address or network",
        "WEBHOOK_ALLOWED_IPS_PAYSTACK: '52.31.139.999' is not an address or network",
    ]


def test_the_shipped_allow_lists_pass_the_check():
    from security.checks import check_allow_lists

    assert check_allow_lists(None) == []
