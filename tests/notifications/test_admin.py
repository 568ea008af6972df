import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import admin_login
from tests.factories import NotificationFactory, StaffFactory


@pytest.fixture
def admin_browser(db) -> Client:
    client = Client()
    admin_login(client, StaffFactory(is_superuser=True))
    return client


def test_the_list_flags_dead_rows_and_filters_by_status(admin_browser):
    NotificationFactory(recipient="dead@example.com", status="dead", attempts=6, max_attempts=6)
    NotificationFactory(recipient="queued@example.com")

    response = admin_browser.get(
        reverse("admin:notifications_notification_changelist"), {"status__exact": "dead"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "dead@example.com" in html
    assert "queued@example.com" not in html
    assert 'alt="True"' in html  # the needs-attention icon
    assert "6/6" in html


def test_search_finds_rows_by_dedup_key(admin_browser):
    NotificationFactory(recipient="a@example.com", dedup_key="order_placed:ORD-777:email")
    NotificationFactory(recipient="b@example.com")

    response = admin_browser.get(
        reverse("admin:notifications_notification_changelist"), {"q": "ORD-777"}
    )

    html = response.content.decode()
    assert "a@example.com" in html
    assert "b@example.com" not in html


def test_the_detail_page_shows_the_rendered_message(admin_browser):
    row = NotificationFactory()

    response = admin_browser.get(reverse("admin:notifications_notification_change", args=[row.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Payment received for order ORD-000123" in html
    assert "We received your payment of NGN 45,500.00 for order ORD-000123." in html


def test_the_retry_now_action_requeues_dead_rows_and_leaves_sent_ones(admin_browser):
    dead = NotificationFactory(status="dead", attempts=6, max_attempts=6)
    sent = NotificationFactory(status="sent", attempts=1, provider_message_id="<id@x>",
                               sent_at="2026-11-28T10:00:00Z")  # fmt: skip

    response = admin_browser.post(
        reverse("admin:notifications_notification_changelist"),
        {"action": "retry_now", "_selected_action": [dead.pk, sent.pk]},
        follow=True,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "1 notification(s) queued for an immediate retry." in html
    assert "1 selected notification(s) were not failed or dead and were left alone." in html
    dead.refresh_from_db()
    assert (dead.status, dead.attempts, dead.max_attempts) == ("queued", 6, 12)
    sent.refresh_from_db()
    assert (sent.status, sent.attempts) == ("sent", 1)
