"""Staff two-factor sign-in: who needs it, API tokens with a code, the admin's pages, audit."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from knox.models import AuthToken

from accounts import two_factor
from security.models import AuditEvent
from tests.accounts.helpers import ME, client_with, code_of, enrol, enrolment_for, sign_in
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.shop.helpers import assert_error
from tests.staff.conftest import staff_groups  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("staff_groups")]


def staff_in(group: str):
    user = StaffFactory.create()
    user.groups.add(Group.objects.get(name=group))
    return user


def audit_actions(user) -> list[str]:
    return list(
        AuditEvent.objects.filter(actor=user).order_by("pk").values_list("action", flat=True)
    )


# --- Who needs a second factor --------------------------------------------------------------


def test_superusers_and_finance_need_it_by_default_support_and_customers_do_not():
    assert two_factor.second_factor_needed(StaffFactory.create(is_superuser=True))
    assert two_factor.second_factor_needed(staff_in("Finance"))
    assert not two_factor.second_factor_needed(staff_in("Support"))
    assert not two_factor.second_factor_needed(UserFactory.create())


def test_with_the_policy_off_only_staff_who_set_it_up_need_it(settings):
    settings.STAFF_REQUIRE_2FA = False
    finance, enrolled = staff_in("Finance"), staff_in("Support")
    enrol(enrolled)

    assert not two_factor.second_factor_needed(finance)
    assert two_factor.second_factor_needed(enrolled)


# --- Staff API tokens ----------------------------------------------------------------------


def test_a_finance_token_needs_the_authenticator_code():
    finance = staff_in("Finance")
    device = enrol(finance)

    missing = sign_in(finance.email)
    right = sign_in(finance.email, otp=code_of(device, steps_ahead=1))

    assert_error(missing, 400, "otp_required")
    assert right.status_code == 200, right.content
    assert client_with(right.json()["token"]).get("/api/staff/orders/").status_code == 200
    assert AuthToken.objects.filter(user=finance).count() == 1
    assert audit_actions(finance) == ["sign_in"]


def test_after_a_wrong_code_the_device_waits_before_it_accepts_one():
    finance = staff_in("Finance")
    device = enrol(finance)
    wrong = "000000" if code_of(device) != "000000" else "111111"

    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        refused = sign_in(finance.email, otp=wrong)
        too_soon = sign_in(finance.email, otp=code_of(device, steps_ahead=1))
        clock.shift(timedelta(seconds=3))  # django-otp: 1 s after one failure, doubling
        later = sign_in(finance.email, otp=code_of(device, steps_ahead=1))

    assert_error(refused, 400, "invalid_otp")
    assert_error(too_soon, 400, "invalid_otp")
    assert later.status_code == 200, later.content
    assert audit_actions(finance) == ["second_factor_failed", "second_factor_failed", "sign_in"]


def test_a_code_cannot_be_used_twice():
    superuser = StaffFactory.create(is_superuser=True)
    device = enrol(superuser)
    code = code_of(device, steps_ahead=1)

    assert sign_in(superuser.email, otp=code).status_code == 200
    assert_error(sign_in(superuser.email, otp=code), 400, "invalid_otp")


def test_a_recovery_code_signs_in_once():
    superuser = StaffFactory.create(is_superuser=True)
    recovery = enrolment_for(superuser).recovery_codes[3]

    assert sign_in(superuser.email, otp=recovery.upper()).status_code == 200
    assert_error(sign_in(superuser.email, otp=recovery), 400, "invalid_otp")
    assert StaticToken.objects.filter(device__user=superuser).count() == 9


def test_an_account_that_must_use_it_but_has_not_set_it_up_gets_no_token():
    superuser = StaffFactory.create(is_superuser=True)

    response = sign_in(superuser.email, otp="123456")

    assert_error(response, 403, "otp_setup_required")
    assert not AuthToken.objects.exists()


def test_support_staff_without_an_authenticator_sign_in_with_the_password():
    support = staff_in("Support")

    assert sign_in(support.email).status_code == 200
    assert audit_actions(support) == ["sign_in"]


def test_a_wrong_password_of_a_staff_account_is_audited_and_a_customers_is_not():
    support, customer = staff_in("Support"), UserFactory.create()

    assert_error(sign_in(support.email, password="guess"), 400, "invalid_credentials")
    assert_error(sign_in(customer.email, password="guess"), 400, "invalid_credentials")
    sign_in(customer.email)

    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.object_id, event.path) == (
        support,
        "sign_in_failed",
        str(support.pk),
        "/api/auth/token/",
    )


# --- The admin -----------------------------------------------------------------------------


def password_sign_in(user) -> Client:
    client = Client()
    response = client.post(
        "/admin/login/", {"username": user.email, "password": DEFAULT_PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    return client


def test_finance_staff_set_up_the_authenticator_before_any_admin_page():
    finance = staff_in("Finance")
    client = password_sign_in(finance)

    for page in ("/admin/", "/admin/orders/order/", "/admin/dashboard/"):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/two-factor/setup/?next=")

    setup = client.get("/admin/two-factor/setup/?next=/admin/orders/order/")
    assert setup.status_code == 200
    device = two_factor.pending_enrolment(finance)
    assert setup.context["secret"]
    assert b"data:image/svg+xml;base64," in setup.content
    refused = client.post("/admin/two-factor/setup/", {"code": "12345", "next": "/admin/"})
    assert refused.status_code == 200
    assert not two_factor.has_second_factor(finance)

    done = client.post(
        "/admin/two-factor/setup/", {"code": code_of(device), "next": "/admin/orders/order/"}
    )

    assert done.status_code == 200
    assert len(done.context["codes"]) == 10
    assert done.context["next"] == "/admin/orders/order/"
    assert client.get("/admin/orders/order/").status_code == 200
    assert audit_actions(finance) == ["sign_in", "second_factor_passed"]


def test_an_enrolled_account_is_asked_for_its_code_and_cannot_re_enrol_with_the_password():
    superuser = StaffFactory.create(is_superuser=True)
    device = enrol(superuser)
    client = password_sign_in(superuser)

    assert client.get("/admin/")["Location"].startswith("/admin/two-factor/verify/")
    replace = client.get("/admin/two-factor/setup/")
    assert replace.status_code == 302
    assert replace["Location"].startswith("/admin/two-factor/verify/")
    new_codes = client.post("/admin/two-factor/recovery-codes/")
    assert new_codes["Location"] == "/admin/two-factor/verify/"

    wrong = client.post("/admin/two-factor/verify/", {"code": "99999999", "next": "/admin/"})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors
    right = client.post(
        "/admin/two-factor/verify/", {"code": code_of(device, 1), "next": "/admin/orders/order/"}
    )

    assert right["Location"] == "/admin/orders/order/"
    assert client.get("/admin/orders/order/").status_code == 200
    assert len(client.post("/admin/two-factor/recovery-codes/").context["codes"]) == 10
    assert audit_actions(superuser) == ["sign_in", "second_factor_failed", "second_factor_passed"]


def test_the_verify_page_sends_back_only_to_this_site():
    superuser = StaffFactory.create(is_superuser=True)
    device = enrol(superuser)
    client = password_sign_in(superuser)

    response = client.post(
        "/admin/two-factor/verify/",
        {"code": code_of(device, 1), "next": "https://evil.example.net/admin/"},
    )

    assert response["Location"] == "/admin/"


def test_support_staff_use_the_admin_with_the_password_alone():
    client = password_sign_in(staff_in("Support"))

    assert client.get("/admin/orders/order/").status_code == 200


def test_the_admin_session_reaches_the_staff_api_only_after_the_second_factor():
    finance = staff_in("Finance")
    device = enrol(finance)
    client = password_sign_in(finance)

    assert client.get("/api/staff/orders/").status_code in (401, 403)
    assert client.get(ME).status_code in (401, 403)
    client.post("/admin/two-factor/verify/", {"code": code_of(device, 1), "next": "/admin/"})

    assert client.get("/api/staff/orders/").status_code == 200
    assert client.get(ME).json()["email"] == finance.email


def test_a_failed_admin_sign_in_of_a_staff_account_is_audited():
    support = staff_in("Support")

    response = Client().post("/admin/login/", {"username": support.email, "password": "nope"})

    assert response.status_code == 200
    assert audit_actions(support) == ["sign_in_failed"]
