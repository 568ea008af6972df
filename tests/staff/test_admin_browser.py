"""A staff member drives an order through the admin in a real headless Chromium.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it); Playwright only drives
it (``executable_path``), nothing is downloaded. Set ``STAFF_SCREENSHOTS_DIR`` to keep the
screenshots (the README's come from here: ``STAFF_SCREENSHOTS_DIR=docs``).
"""

import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from playwright.sync_api import Browser, Page, expect, sync_playwright

from orders.models import Order
from orders.states import OrderState
from tests.factories import DEFAULT_PASSWORD, OrderFactory, StaffFactory
from tests.staff.conftest import paid_order

S = OrderState
CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed (apt-get install -y chromium; .ci/run does this)",
    ),
]


@pytest.fixture
def browser(monkeypatch) -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()
        # While Playwright's loop runs, Django keeps the test's connection in that context;
        # closed later, outside it, the connection would be missed and outlive the test
        # database (pytest-django then cannot drop it).
        connections.close_all()


def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    target = Path(os.environ.get("STAFF_SCREENSHOTS_DIR") or tmp_path)
    page.screenshot(path=str(target / name), full_page=True)


def run_action(page: Page, slug: str, **fields: str) -> None:
    page.click(f'a[data-action="{slug}"]')
    for name, value in fields.items():
        page.fill(f'[name="{name}"]', value)
    page.click('#order-action-form input[type="submit"]')
    expect(page.locator("ul.messagelist li.success")).to_be_visible()


def timeline_kinds(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("#events-group td.field-kind").all_inner_texts()]


def test_staff_fulfils_ships_and_refunds_an_order(
    browser, live_server, buyer, stocked_product, staff_groups, tmp_path
):
    clerk = StaffFactory(email="clerk@example.com", first_name="Chi", last_name="Eze")
    clerk.groups.add(*Group.objects.filter(name__in=["Support", "Finance"]))
    order = paid_order(buyer, stocked_product, quantity=2)
    OrderFactory.create_batch(4)  # a changelist with more than one row

    page = browser.new_page(viewport={"width": 1700, "height": 1000})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill('[name="username"]', clerk.email)
    page.fill('[name="password"]', DEFAULT_PASSWORD)
    page.click('input[type="submit"]')
    page.goto(f"{live_server.url}/admin/orders/order/")
    expect(page.locator("#result_list")).to_contain_text(order.number)
    screenshot(page, "staff-order-changelist.png", tmp_path)

    page.click(f"text={order.number}")
    expect(page.locator(".field-state .readonly")).to_have_text("Paid")
    assert timeline_kinds(page) == ["paid", "placed"]

    run_action(page, "status-processing", reason="Picking started")
    expect(page.locator(".field-state .readonly")).to_have_text("Processing")
    run_action(page, "status-ready_for_shipment", reason="Packed")
    run_action(
        page,
        "status-shipped",
        tracking_number="GIG-55501",
        carrier="GIG Logistics",
        reason="Collected by courier",
    )
    expect(page.locator(".field-state .readonly")).to_have_text("Shipped")
    expect(page.locator(".field-tracking_number .readonly")).to_have_text("GIG-55501")

    # Shipped orders are refunded only once delivered (the state machine): deliver first.
    run_action(page, "status-delivered")
    page.click('a[data-action="refund"]')
    expect(page.locator("#refundable-balance")).to_contain_text("5000.00 NGN")
    page.fill('[name="amount"]', "1500.00")
    page.fill('[name="reason"]', "One item arrived scratched")
    page.click('#order-action-form input[type="submit"]')
    expect(page.locator("ul.messagelist li.success")).to_be_visible()

    expect(page.locator(".field-state .readonly")).to_have_text("Partially refunded")
    assert timeline_kinds(page) == [
        "partially_refunded",
        "delivered",
        "shipped",
        "ready_for_shipment",
        "processing_started",
        "paid",
        "placed",
    ]
    expect(page.locator("#events-group td.field-reason").first).to_have_text(
        "One item arrived scratched"
    )
    expect(page.locator(".field-refunds .readonly")).to_contain_text(
        "1500.00 NGN · Processed (manual) · One item arrived scratched · clerk@example.com"
    )
    screenshot(page, "staff-order-page.png", tmp_path)

    order = Order.objects.get(pk=order.pk)
    assert (order.state, order.amount_refunded, order.tracking_number) == (
        S.PARTIALLY_REFUNDED,
        Decimal("1500.00"),
        "GIG-55501",
    )
    assert set(order.events.filter(actor_type="staff").values_list("actor_id", flat=True)) == {
        clerk.pk
    }
