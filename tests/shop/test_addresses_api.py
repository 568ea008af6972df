import pytest

from shop import services
from shop.models import Address
from tests.factories import AddressFactory
from tests.shop.helpers import assert_error, db_state

LIST = "/api/addresses/"

VALID = {
    "full_name": "Ada Obi",
    "phone": "0803 123 4567",
    "line1": "12 Admiralty Way",
    "line2": "Flat 3",
    "city": "Lagos",
    "state": "Lagos",
    "postal_code": "106104",
    "country": "ng",
}


def detail(address_id: int) -> str:
    return f"/api/addresses/{address_id}/"


def defaults_of(customer) -> list[int]:
    return list(
        Address.objects.filter(customer=customer, is_default=True).values_list("pk", flat=True)
    )


@pytest.mark.django_db
def test_address_endpoints_require_authentication(api_client, customer):
    address = AddressFactory(customer=customer)
    before = db_state()
    assert_error(api_client.get(LIST), 401, "not_authenticated")
    assert_error(api_client.post(LIST, VALID, format="json"), 401, "not_authenticated")
    assert_error(api_client.get(detail(address.pk)), 401, "not_authenticated")
    assert_error(
        api_client.patch(detail(address.pk), {"city": "Abuja"}, format="json"),
        401,
        "not_authenticated",
    )
    assert_error(api_client.delete(detail(address.pk)), 401, "not_authenticated")
    assert db_state() == before


@pytest.mark.django_db
def test_create_address_normalises_country_and_phone(customer, customer_client):
    response = customer_client.post(LIST, VALID, format="json")

    assert response.status_code == 201
    address = Address.objects.get()
    body = response.json()
    assert body == {
        "id": address.pk,
        "full_name": "Ada Obi",
        "phone": "+2348031234567",
        "line1": "12 Admiralty Way",
        "line2": "Flat 3",
        "city": "Lagos",
        "state": "Lagos",
        "postal_code": "106104",
        "country": "NG",
        "is_default": False,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert address.customer == customer


@pytest.mark.django_db
def test_phone_is_read_in_the_address_country(customer_client):
    data = {**VALID, "country": "GB", "phone": "020 7946 0958", "postal_code": "SW1A 1AA"}
    response = customer_client.post(LIST, data, format="json")
    assert response.status_code == 201
    assert response.json()["phone"] == "+442079460958"


@pytest.mark.django_db
def test_optional_fields_default_to_blank(customer_client):
    data = {k: v for k, v in VALID.items() if k not in {"line2", "state", "postal_code"}}
    body = customer_client.post(LIST, data, format="json").json()
    assert (body["line2"], body["state"], body["postal_code"]) == ("", "", "")


@pytest.mark.django_db
def test_a_new_default_address_replaces_the_old_default(customer, customer_client):
    old = AddressFactory(customer=customer, is_default=True)
    response = customer_client.post(LIST, {**VALID, "is_default": True}, format="json")
    assert response.status_code == 201
    assert defaults_of(customer) == [response.json()["id"]]
    old.refresh_from_db()
    assert old.is_default is False


@pytest.mark.django_db
def test_patch_to_default_unsets_the_other_default(customer, customer_client):
    first = AddressFactory(customer=customer, is_default=True)
    second = AddressFactory(customer=customer)
    response = customer_client.patch(detail(second.pk), {"is_default": True}, format="json")
    assert response.status_code == 200
    assert defaults_of(customer) == [second.pk]
    first.refresh_from_db()
    assert first.is_default is False


@pytest.mark.django_db
def test_default_of_another_customer_is_untouched(customer_client, other_customer):
    theirs = AddressFactory(customer=other_customer, is_default=True)
    customer_client.post(LIST, {**VALID, "is_default": True}, format="json")
    theirs.refresh_from_db()
    assert theirs.is_default is True


@pytest.mark.django_db
def test_list_shows_only_own_addresses_default_first(customer, customer_client, other_customer):
    plain = AddressFactory(customer=customer, city="Ibadan")
    default = AddressFactory(customer=customer, city="Lagos", is_default=True)
    AddressFactory(customer=other_customer)

    response = customer_client.get(LIST)

    assert response.status_code == 200
    assert [a["id"] for a in response.json()] == [default.pk, plain.pk]


@pytest.mark.django_db
def test_get_patch_delete_own_address(customer, customer_client):
    address = AddressFactory(customer=customer, city="Lagos")

    assert customer_client.get(detail(address.pk)).json()["city"] == "Lagos"
    patched = customer_client.patch(
        detail(address.pk), {"city": "Abuja", "phone": "0809 999 0000"}, format="json"
    )
    assert patched.status_code == 200
    assert (patched.json()["city"], patched.json()["phone"]) == ("Abuja", "+2348099990000")
    address.refresh_from_db()
    assert (address.city, address.full_name) == ("Abuja", address.full_name)

    deleted = customer_client.delete(detail(address.pk))
    assert deleted.status_code == 204
    assert not Address.objects.exists()


@pytest.mark.django_db
def test_another_customers_address_is_not_found(customer_client, other_customer):
    theirs = AddressFactory(customer=other_customer)
    before = db_state()

    responses = [
        customer_client.get(detail(theirs.pk)),
        customer_client.patch(detail(theirs.pk), {"city": "Abuja"}, format="json"),
        customer_client.delete(detail(theirs.pk)),
    ]

    for response in responses:
        error = assert_error(response, 404, "address_not_found")
        assert error["details"] == {"address_id": theirs.pk}
    assert db_state() == before


@pytest.mark.django_db
def test_unknown_address_is_not_found(customer_client):
    assert_error(customer_client.get(detail(987654)), 404, "address_not_found")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "NGA"}, "country"),
        ({"country": 12}, "country"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "+44 20 7946 0958", "country": "NG", "full_name": ""}, "full_name"),
        ({"line1": "x" * 201}, "line1"),
        ({"city": None}, "city"),
        ({"is_default": "perhaps"}, "is_default"),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(customer_client, change, field):
    response = customer_client.post(LIST, {**VALID, **change}, format="json")
    error = assert_error(response, 400, "validation_error")
    assert list(error["details"]["fields"]) == [field]
    assert not Address.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["full_name", "phone", "line1", "city", "country"])
def test_create_requires_fields(customer_client, missing):
    data = {k: v for k, v in VALID.items() if k != missing}
    error = assert_error(customer_client.post(LIST, data, format="json"), 400, "validation_error")
    assert error["details"]["fields"] == {missing: ["This field is required."]}
    assert not Address.objects.exists()


@pytest.mark.django_db
def test_create_malformed_json_is_refused(customer_client):
    response = customer_client.post(LIST, '{"full_name": "Ada"', content_type="application/json")
    assert_error(response, 400, "malformed_request")
    assert not Address.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [({"country": "ZZ"}, "country"), ({"phone": "not a phone"}, "phone"), ({"city": ""}, "city")],
)
def test_patch_refuses_bad_input_and_changes_nothing(customer, customer_client, data, field):
    address = AddressFactory(customer=customer)
    before = db_state()
    response = customer_client.patch(detail(address.pk), data, format="json")
    error = assert_error(response, 400, "validation_error")
    assert list(error["details"]["fields"]) == [field]
    assert db_state() == before


@pytest.mark.django_db
def test_patch_country_revalidates_the_phone_in_the_new_country(customer, customer_client):
    address = AddressFactory(customer=customer, country="NG", phone="+2348031234567")
    response = customer_client.patch(detail(address.pk), {"country": "GB"}, format="json")
    # an E.164 number stays valid whatever the country of the address
    assert response.status_code == 200
    assert response.json()["phone"] == "+2348031234567"


@pytest.mark.django_db
def test_address_create_service_is_usable_by_checkout(customer):
    address = services.address_create(
        customer=customer,
        data={**VALID, "country": "NG", "is_default": True},
    )
    assert (address.customer, address.phone, address.is_default) == (
        customer,
        "+2348031234567",
        True,
    )
