import secrets

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from knox.crypto import hash_token
from knox.models import AuthToken

from accounts.tokens import issue_token
from shop import services
from shop.models import User
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.shop.helpers import assert_error, db_state

REGISTER = "/api/auth/register/"
TOKEN = "/api/auth/token/"
ME = "/api/auth/me/"

VALID = {
    "email": "Ada.Obi@Example.com",
    "password": "lagos-sunrise-2026",
    "first_name": "Ada",
    "last_name": "Obi",
    "phone": "0803 123 4567",
}


@pytest.mark.django_db
def test_register_creates_customer_with_lowercase_email_and_e164_phone(api_client):
    response = api_client.post(REGISTER, VALID, format="json")

    assert response.status_code == 201
    body = response.json()
    user = User.objects.get()
    assert body == {
        "id": user.pk,
        "email": "ada.obi@example.com",
        "email_verified": False,
        "first_name": "Ada",
        "last_name": "Obi",
        "phone": "+2348031234567",
        "sms_opt_out": False,
        "date_joined": body["date_joined"],
    }
    assert user.check_password("lagos-sunrise-2026")
    assert not user.is_staff


@pytest.mark.django_db
def test_register_without_phone_is_allowed(api_client):
    data = {k: v for k, v in VALID.items() if k != "phone"}
    response = api_client.post(REGISTER, data, format="json")
    assert response.status_code == 201
    assert response.json()["phone"] == ""


@pytest.mark.django_db
def test_register_refuses_email_taken_in_another_case(api_client):
    UserFactory(email="ada.obi@example.com")
    before = db_state()

    response = api_client.post(REGISTER, {**VALID, "email": "ADA.OBI@example.COM"}, format="json")

    error = assert_error(response, 409, "email_taken")
    assert error["details"] == {"email": "ada.obi@example.com"}
    assert db_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "password"}, "password"),
        ({"password": "12345678901"}, "password"),
        ({"password": "short1!"}, "password"),
        ({"password": "ada.obi.example"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": ["Ada"]}, "first_name"),
    ],
)
def test_register_refuses_bad_input_and_creates_nothing(api_client, change, field):
    response = api_client.post(REGISTER, {**VALID, **change}, format="json")

    error = assert_error(response, 400, "validation_error")
    assert list(error["details"]["fields"]) == [field]
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["email", "password", "first_name", "last_name"])
def test_register_requires_fields(api_client, missing):
    data = {k: v for k, v in VALID.items() if k != missing}
    error = assert_error(api_client.post(REGISTER, data, format="json"), 400, "validation_error")
    assert error["details"]["fields"] == {missing: ["This field is required."]}
    assert not User.objects.exists()


def stored_token(token: str) -> AuthToken:
    """The stored row of a token (the database keeps only its digest)."""
    return AuthToken.objects.select_related("user").get(digest=hash_token(token))


# 215 characters as typed, but "İ".lower() is two characters: 415 once stored in lowercase.
GROWS_WHEN_LOWERCASED = "a@" + ("İ" * 20 + ".") * 10 + "com"


@pytest.mark.django_db
def test_register_refuses_an_email_too_long_once_lowercased_and_creates_nothing(api_client):
    assert len(GROWS_WHEN_LOWERCASED) == 215

    response = api_client.post(REGISTER, {**VALID, "email": GROWS_WHEN_LOWERCASED}, format="json")

    error = assert_error(response, 400, "validation_error")
    assert error["details"]["fields"] == {
        "email": ["Ensure this field has no more than 254 characters."]
    }
    assert not User.objects.exists()
    fits = "Ada@" + ("İ" * 20 + ".") * 5 + "com"  # 112 characters typed, 212 stored
    response = api_client.post(REGISTER, {**VALID, "email": fits}, format="json")
    assert response.status_code == 201, response.content
    assert User.objects.get().email == fits.lower()


@pytest.mark.django_db
def test_register_service_refuses_an_email_too_long_once_lowercased():
    with pytest.raises(ValidationError) as refusal:
        services.customer_register(
            email=GROWS_WHEN_LOWERCASED,
            password=VALID["password"],
            first_name="Ada",
            last_name="Obi",
        )

    assert list(refusal.value.message_dict) == ["email"]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_malformed_json_is_refused(api_client):
    response = api_client.post(REGISTER, '{"email": ', content_type="application/json")
    assert_error(response, 400, "malformed_request")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_token_for_registered_customer_works_for_me(api_client):
    api_client.post(REGISTER, VALID, format="json")

    response = api_client.post(
        TOKEN, {"email": "ADA.obi@example.com", "password": VALID["password"]}, format="json"
    )

    assert response.status_code == 200
    token = response.json()["token"]
    assert stored_token(token).user.email == "ada.obi@example.com"
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api_client.get(ME)
    assert me.status_code == 200
    assert me.json()["email"] == "ada.obi@example.com"


@pytest.mark.django_db
def test_a_customer_signs_in_with_the_email_as_typed_when_lowercasing_changes_it(api_client):
    # "İ".lower() is "i" plus a combining dot, which the database's case-insensitive
    # comparison does not equate with "İ": the login must compare the stored form.
    email = "İpek.Obi@Example.com"
    assert api_client.post(REGISTER, {**VALID, "email": email}, format="json").status_code == 201

    response = api_client.post(
        TOKEN, {"email": email, "password": VALID["password"]}, format="json"
    )

    assert response.status_code == 200, response.content
    assert stored_token(response.json()["token"]).user.email == email.lower()


@pytest.mark.django_db
def test_each_sign_in_gets_its_own_token_and_both_work(api_client, customer):
    data = {"email": customer.email, "password": DEFAULT_PASSWORD}
    first = api_client.post(TOKEN, data, format="json").json()["token"]
    second = api_client.post(TOKEN, data, format="json").json()["token"]
    assert first != second
    for token in (first, second):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert api_client.get(ME).json()["email"] == customer.email


@pytest.mark.django_db
@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "customer-x@example.com", "password": "wrong-password"},
        {"email": "nobody@example.com", "password": DEFAULT_PASSWORD},
    ],
)
def test_token_refuses_wrong_credentials(api_client, credentials):
    UserFactory(email="customer-x@example.com")
    error = assert_error(
        api_client.post(TOKEN, credentials, format="json"), 400, "invalid_credentials"
    )
    assert error["details"] == {}
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
def test_token_refuses_inactive_customer(api_client):
    user = UserFactory(is_active=False)
    response = api_client.post(
        TOKEN, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert_error(response, 400, "invalid_credentials")
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
def test_token_requires_both_fields(api_client):
    error = assert_error(
        api_client.post(TOKEN, {"email": "a@b.co"}, format="json"), 400, "validation_error"
    )
    assert error["details"]["fields"] == {"password": ["This field is required."]}


@pytest.mark.django_db
def test_me_requires_authentication(api_client):
    assert_error(api_client.get(ME), 401, "not_authenticated")
    assert_error(api_client.patch(ME, {"first_name": "X"}, format="json"), 401, "not_authenticated")


@pytest.mark.django_db
def test_me_with_unknown_token_is_authentication_failed(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(api_client.get(ME), 401, "authentication_failed")


@pytest.mark.django_db
def test_me_with_a_nul_character_in_the_token_is_authentication_failed(api_client, customer):
    token = issue_token(customer).token
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token[:20]}\x00{token[20:]}")

    assert_error(api_client.get(ME), 401, "authentication_failed")


@pytest.mark.django_db
def test_me_patch_changes_names_phone_and_sms_preference(customer, customer_client):
    response = customer_client.patch(
        ME,
        {"first_name": "Chi", "last_name": "Eze", "phone": "0809 999 0000", "sms_opt_out": True},
        format="json",
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.phone, customer.sms_opt_out) == (
        "Chi",
        "Eze",
        "+2348099990000",
        True,
    )
    assert response.json()["phone"] == "+2348099990000"


@pytest.mark.django_db
def test_me_patch_ignores_email_and_staff_flags(customer, customer_client):
    email = customer.email
    response = customer_client.patch(
        ME, {"email": "new@example.com", "is_staff": True}, format="json"
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.email == email
    assert customer.is_staff is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"phone": "abc"}, "phone"),
        ({"sms_opt_out": "maybe"}, "sms_opt_out"),
        ({"first_name": ""}, "first_name"),
    ],
)
def test_me_patch_refuses_bad_input(customer, customer_client, data, field):
    before = db_state()
    error = assert_error(customer_client.patch(ME, data, format="json"), 400, "validation_error")
    assert list(error["details"]["fields"]) == [field]
    assert db_state() == before


@pytest.mark.django_db
def test_me_shows_only_the_token_owner(customer, other_customer):
    assert client_for(other_customer).get(ME).json()["email"] == other_customer.email


@pytest.mark.django_db
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_token_requests_are_throttled_per_client_address(api_client, customer, ratelimit_clock):
    # fresh addresses: throttle counters live in the shared cache, not in the test database
    n = secrets.randbelow(62500)
    address, other_address = f"10.{n // 250}.{n % 250}.7", f"10.{n // 250}.{n % 250}.8"
    wrong = {"email": customer.email, "password": "guess"}

    statuses = [
        api_client.post(TOKEN, wrong, format="json", REMOTE_ADDR=address).status_code
        for _ in range(3)
    ]
    blocked = api_client.post(TOKEN, wrong, format="json", REMOTE_ADDR=address)
    elsewhere = api_client.post(
        TOKEN,
        {"email": customer.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR=other_address,
    )

    assert statuses == [400, 400, 400]
    error = assert_error(blocked, 429, "throttled")
    assert 0 < error["details"]["retry_after_seconds"] <= 60
    assert elsewhere.status_code == 200


@pytest.mark.django_db
def test_a_token_stops_working_once_its_customer_is_deactivated(customer, customer_client):
    assert customer_client.get(ME).status_code == 200
    User.objects.filter(pk=customer.pk).update(is_active=False)
    assert_error(customer_client.get(ME), 401, "authentication_failed")


@pytest.mark.django_db
def test_a_token_authenticates_its_own_customer_with_every_field_loaded(customer):
    from shop.authentication import TokenAuthentication

    row, token = AuthToken.objects.create(user=customer)
    user, auth = TokenAuthentication().authenticate_credentials(token)
    assert (user.pk, user.email, user.phone, user.is_staff) == (
        customer.pk,
        customer.email,
        customer.phone,
        False,
    )
    assert (auth.digest, auth.user_id, auth.created, auth.expiry) == (
        row.digest,
        customer.pk,
        row.created,
        row.expiry,
    )
