"""The checkout body's serializer: each instance validates with fields of its own."""

from orders.serializers import CheckoutInputSerializer


def test_each_checkout_body_is_validated_by_fields_bound_to_its_own_serializer():
    good = CheckoutInputSerializer(data={"payment_method": "cod", "address_id": 5})
    bad = CheckoutInputSerializer(
        data={
            "payment_method": "x" * 40,
            "address": {"full_name": "", "phone": "1", "line1": "a", "city": "b", "country": "ZZ"},
        }
    )
    assert good.is_valid(), good.errors
    assert not bad.is_valid()
    assert good.validated_data["payment_method"] == "cod"
    assert {code.code for code in bad.errors["payment_method"]} == {"max_length"}
    assert set(bad.errors["address"]) == {"full_name", "country"}
    for serializer in (good, bad):
        assert all(field.parent is serializer for field in serializer.fields.values())
    declared = CheckoutInputSerializer._declared_fields
    assert not any(good.fields[name] is declared[name] for name in declared)
    assert all(getattr(field, "parent", None) is None for field in declared.values())
