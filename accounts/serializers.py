"""Shapes of the account endpoints: input serializers validate, output serializers render."""

from typing import Any

from rest_framework import serializers

from shop.models import Address, User
from shop.serializers import CustomerEmailField


def _password(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=128, trim_whitespace=False, write_only=True, **kwargs)


class RegisterInputSerializer(serializers.Serializer[Any]):
    email = CustomerEmailField()
    password = _password()
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class TokenInputSerializer(serializers.Serializer[Any]):
    email = CustomerEmailField()
    password = _password()
    otp = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        default="",
        help_text=(
            "Staff accounts with two-factor sign-in: the 6-digit code of the authenticator "
            "app, or one of the recovery codes."
        ),
    )


class TokenOutputSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    expiry = serializers.DateTimeField(help_text="When the token stops working (ISO 8601).")


class CustomerOutputSerializer(serializers.ModelSerializer[User]):
    email_verified = serializers.BooleanField(
        read_only=True, help_text="The customer followed the link of the verification email."
    )

    class Meta:
        model = User
        fields = [
            "id", "email", "email_verified", "first_name", "last_name", "phone", "sms_opt_out",
            "date_joined",
        ]  # fmt: skip
        read_only_fields = fields


class CustomerUpdateInputSerializer(serializers.Serializer[Any]):
    first_name = serializers.CharField(max_length=150, required=False)
    last_name = serializers.CharField(max_length=150, required=False)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    sms_opt_out = serializers.BooleanField(required=False)


class PasswordChangeInputSerializer(serializers.Serializer[Any]):
    current_password = _password()
    new_password = _password()


class PasswordResetInputSerializer(serializers.Serializer[Any]):
    email = CustomerEmailField()


class EmailedLinkInputSerializer(serializers.Serializer[Any]):
    """The two query parameters of a link the shop emailed (``?uid=…&token=…``)."""

    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=256)


class PasswordResetConfirmInputSerializer(EmailedLinkInputSerializer):
    new_password = _password()


class AccountEraseInputSerializer(serializers.Serializer[Any]):
    password = _password(help_text="The account's password, to confirm.")


class DetailSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()


# --- Personal-data export -------------------------------------------------------------------


class ExportAccountSerializer(CustomerOutputSerializer):
    class Meta(CustomerOutputSerializer.Meta):
        fields = [*CustomerOutputSerializer.Meta.fields, "last_login"]
        read_only_fields = fields


class ExportAddressSerializer(serializers.ModelSerializer[Address]):
    class Meta:
        model = Address
        fields = ["id", *Address.EDITABLE_FIELDS, "created_at", "updated_at"]
        read_only_fields = fields


class ExportItemSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField()
    name = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)


class ExportRefundSerializer(serializers.Serializer[Any]):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)


class ExportPaymentSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField()
    gateway = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    refunds = ExportRefundSerializer(many=True)


class ExportOrderSerializer(serializers.Serializer[Any]):
    number = serializers.CharField()
    state = serializers.CharField()
    payment_status = serializers.CharField()
    payment_method = serializers.CharField()
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount_refunded = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_address = serializers.DictField(child=serializers.CharField(allow_blank=True))
    note = serializers.CharField(allow_blank=True)
    tracking_number = serializers.CharField(allow_blank=True)
    carrier = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    items = ExportItemSerializer(many=True)
    payments = ExportPaymentSerializer(many=True)


class ExportNotificationSerializer(serializers.Serializer[Any]):
    event = serializers.CharField(source="template")
    channel = serializers.CharField()
    recipient = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)


class ExportSignInSerializer(serializers.Serializer[Any]):
    created = serializers.DateTimeField(help_text="When this device signed in.")
    expiry = serializers.DateTimeField(allow_null=True)


class PersonalDataSerializer(serializers.Serializer[Any]):
    exported_at = serializers.DateTimeField()
    account = ExportAccountSerializer()
    addresses = ExportAddressSerializer(many=True)
    orders = ExportOrderSerializer(many=True)
    notifications = ExportNotificationSerializer(many=True)
    sign_ins = ExportSignInSerializer(many=True, help_text="Tokens still valid, one per device.")
