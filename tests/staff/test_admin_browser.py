"""A staff member drives an order through the admin in a real headless Chromium.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it); Playwright only drives
it (``executable_path``), nothing is downloaded. Set ``STAFF_SCREENSHOTS_DIR`` to keep the
screenshots (the README's come from here: ``STAFF_SCREENSHOTS_DIR=docs``).
"""

import os
import shutil
import time
from base64 import b32decode, b32encode
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django_otp.oath import TOTP
from playwright.sync_api import Browser, Page, expect, sync_playwright

from accounts import two_factor
from orders.models import Order
from orders.states import OrderState
from security.models import AuditEvent
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


def totp_code(secret: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for ``secret`` (base32), now or a few steps on."""
    totp = TOTP(b32decode(secret), step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


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
    clerk = StaffFactory.create(email="clerk@example.com", first_name="Chi", last_name="Eze")
    clerk.groups.add(*Group.objects.filter(name__in=["Support", "Finance"]))
    order = paid_order(buyer, stocked_product, quantity=2)
    OrderFactory.create_batch(4)  # a changelist with more than one row

    page = browser.new_page(viewport={"width": 1700, "height": 1000})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill('[name="username"]', clerk.email)
    page.fill('[name="password"]', DEFAULT_PASSWORD)
    page.click('input[type="submit"]')
    # Finance refunds money: the first sign-in sets up the authenticator app before anything.
    secret = page.locator("#totp-secret").inner_text()
    page.fill('[name="code"]', totp_code(secret))
    page.click('#two-factor-form input[type="submit"]')
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.click("#two-factor-continue")
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


CSP_WATCH = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def sign_in(page: Page, url: str, email: str, code: str) -> None:
    page.goto(f"{url}/admin/login/")
    page.fill('[name="username"]', email)
    page.fill('[name="password"]', DEFAULT_PASSWORD)
    page.click('input[type="submit"]')
    expect(page.locator("#two-factor-form")).to_be_visible()
    page.fill('[name="code"]', code)
    page.click('#two-factor-form input[type="submit"]')


def test_a_superuser_signs_in_with_a_code_or_a_recovery_code_under_the_csp(
    browser, live_server, staff_groups
):
    boss = StaffFactory.create(email="boss@example.com", is_superuser=True)
    device = two_factor.pending_enrolment(boss)
    secret = b32encode(device.bin_key).decode()
    enrolment = two_factor.confirm_enrolment(boss, totp_code(secret))
    assert enrolment is not None
    recovery_codes = enrolment.recovery_codes
    page = browser.new_page()
    page.add_init_script(CSP_WATCH)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    # The password alone reaches no admin page; the app's code then leads back to it.
    page.goto(f"{live_server.url}/admin/login/?next=/admin/orders/order/")
    page.fill('[name="username"]', boss.email)
    page.fill('[name="password"]', DEFAULT_PASSWORD)
    page.click('input[type="submit"]')
    expect(page.locator("#two-factor-form")).to_be_visible()
    page.goto(f"{live_server.url}/admin/orders/order/")
    expect(page.locator("#two-factor-form")).to_be_visible()
    page.fill('[name="code"]', totp_code(secret, steps_ahead=1))
    page.click('#two-factor-form input[type="submit"]')
    expect(page.locator("#changelist")).to_be_visible()
    assert page.url == f"{live_server.url}/admin/orders/order/"
    assert page.evaluate("window.cspViolations") == []

    # Signed out, a recovery code signs in once.
    page.click('#logout-form button[type="submit"]')
    sign_in(page, live_server.url, boss.email, recovery_codes[0])
    page.click("#two-factor-link")
    expect(page.locator("#recovery-codes-left")).to_have_text("9")
    assert page.evaluate("window.cspViolations") == []

    # The API docs: Swagger UI from our own static files, its script allowed by the CSP.
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .information-container .title")).to_contain_text(
        "Shop backend API"
    )
    expect(page.locator(".swagger-ui .opblock-tag-section").first).to_be_visible()
    assert page.evaluate("window.cspViolations") == []
    assert [url for url in requested if not url.startswith(live_server.url)] == []

    # A used recovery code, or a wrong one, is refused (and recorded).
    page.goto(f"{live_server.url}/admin/")
    page.click('#logout-form button[type="submit"]')
    sign_in(page, live_server.url, boss.email, recovery_codes[0])
    expect(page.locator(".errorlist")).to_contain_text("That code is not right")
    page.goto(f"{live_server.url}/admin/orders/order/")
    expect(page.locator("#two-factor-form")).to_be_visible()

    actions = list(
        AuditEvent.objects.filter(actor=boss).order_by("pk").values_list("action", flat=True)
    )
    assert actions == [
        "sign_in",
        "second_factor_passed",
        "sign_in",
        "second_factor_passed",
        "sign_in",
        "second_factor_failed",
    ]
