"""Account endpoints (``/api/auth/…``): thin views over the accounts services."""

from django.contrib.auth import logout, update_session_auth_hash
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts import passwords, personal_data, tokens, verification
from accounts.serializers import (
    AccountEraseInputSerializer,
    CustomerOutputSerializer,
    CustomerUpdateInputSerializer,
    DetailSerializer,
    EmailedLinkInputSerializer,
    PasswordChangeInputSerializer,
    PasswordResetConfirmInputSerializer,
    PasswordResetInputSerializer,
    PersonalDataSerializer,
    RegisterInputSerializer,
    TokenInputSerializer,
    TokenOutputSerializer,
)
from accounts.services import register
from accounts.throttles import AccountEmailThrottle, PasswordAttemptThrottle
from core.api import COMMON_ERRORS, error_response
from security.throttles import LoginThrottle
from shop import services as shop_services
from shop.permissions import signed_in_user
from shop.throttles import AuthRateThrottle

TAGS = ["accounts"]
NEEDS_AUTH = {401: COMMON_ERRORS[401]}
BAD_INPUT = {400: COMMON_ERRORS[400]}
LIMITED = {
    429: error_response("throttled"),
    503: error_response("rate_limit_unavailable (the limiter is down; refused to be safe)"),
}
RESET_REQUESTED = (
    "If an account has this email address, a link to reset its password is on its way."
)


def _detail(text: str, status_code: int = status.HTTP_200_OK) -> Response:
    return Response({"detail": text}, status=status_code)


class PublicView(APIView):
    """Sign-up, sign-in and the emailed links: no credentials, limited per client address."""

    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]


class RegisterView(PublicView):
    @extend_schema(
        tags=TAGS,
        summary="Create a customer account (a verification email is sent)",
        request=RegisterInputSerializer,
        responses={201: CustomerOutputSerializer, **BAD_INPUT, 409: error_response("email_taken"),
                   **LIMITED},
        auth=[],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = register(**serializer.validated_data)
        return Response(CustomerOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(PublicView):
    throttle_classes = [AuthRateThrottle, LoginThrottle]

    @extend_schema(
        tags=TAGS,
        summary="Sign in: a new API token for this device",
        description=(
            "Every sign-in gets its own token (one per device), stored hashed. Customers' "
            "tokens expire after `AUTH_TOKEN_TTL` (30 days), staff tokens after "
            "`STAFF_TOKEN_TTL` (12 h). Staff accounts with two-factor sign-in send `otp`."
        ),
        request=TokenInputSerializer,
        responses={
            200: TokenOutputSerializer,
            400: error_response(
                "validation_error, malformed_request, invalid_credentials, otp_required or "
                "invalid_otp"
            ),
            403: error_response("otp_setup_required"),
            **LIMITED,
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = tokens.sign_in(**serializer.validated_data, request=request._request)
        return Response(TokenOutputSerializer(issued).data)


class LogoutView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Sign out this device: revoke the token of the request",
        request=None,
        responses={204: None, **NEEDS_AUTH},
    )
    def post(self, request: Request) -> Response:
        if request.auth is not None:
            tokens.revoke(request.auth)
        else:  # signed in by the admin's session cookie
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Sign out every device: revoke every token of the account",
        request=None,
        responses={204: None, **NEEDS_AUTH},
    )
    def post(self, request: Request) -> Response:
        tokens.revoke_all(signed_in_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    throttle_classes = [PasswordAttemptThrottle]

    @extend_schema(
        tags=TAGS,
        summary="Change the password; every other device is signed out",
        request=PasswordChangeInputSerializer,
        responses={
            200: DetailSerializer,
            400: error_response("validation_error or password_incorrect"),
            **NEEDS_AUTH,
            **LIMITED,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = passwords.change_password(
            user=signed_in_user(request), **serializer.validated_data, keep_token=request.auth
        )
        if request.auth is None:  # a session: keep it signed in with the new password
            update_session_auth_hash(request._request, user)
        return _detail("Password changed. Other devices are signed out.")


class PasswordResetView(PublicView):
    throttle_classes = [AuthRateThrottle, AccountEmailThrottle]

    @extend_schema(
        tags=TAGS,
        summary="Email a password-reset link",
        description=(
            "Answers 202 with the same body whether or not the address has an account. The "
            "link is `PASSWORD_RESET_URL?uid=<uid>&token=<token>`; the page there posts both, "
            "with the new password, to `/api/auth/password/reset/confirm/`."
        ),
        request=PasswordResetInputSerializer,
        responses={202: DetailSerializer, **BAD_INPUT, **LIMITED},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        passwords.request_password_reset(**serializer.validated_data)
        return _detail(RESET_REQUESTED, status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(PublicView):
    @extend_schema(
        tags=TAGS,
        summary="Set a new password with the emailed link's uid and token",
        description="The link works once. Every device of the account is signed out.",
        request=PasswordResetConfirmInputSerializer,
        responses={200: DetailSerializer, 400: error_response("validation_error or invalid_link"),
                   **LIMITED},
        auth=[],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        passwords.confirm_password_reset(**serializer.validated_data)
        return _detail("Password set. Sign in with it on each device.")


class EmailVerifyView(PublicView):
    @extend_schema(
        tags=TAGS,
        summary="Confirm the email address with the emailed link's uid and token",
        request=EmailedLinkInputSerializer,
        responses={200: DetailSerializer, 400: error_response("validation_error or invalid_link"),
                   **LIMITED},
        auth=[],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        serializer = EmailedLinkInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        verification.confirm_email(**serializer.validated_data)
        return _detail("Email address verified.")


class EmailVerifyResendView(APIView):
    throttle_classes = [AccountEmailThrottle]

    @extend_schema(
        tags=TAGS,
        summary="Send the verification email again",
        request=None,
        responses={
            202: DetailSerializer,
            **NEEDS_AUTH,
            409: error_response("email_already_verified"),
            **LIMITED,
        },
    )
    def post(self, request: Request) -> Response:
        verification.resend_verification_email(signed_in_user(request))
        return _detail("A verification link is on its way.", status.HTTP_202_ACCEPTED)


class MeView(APIView):
    def get_throttles(self) -> list[BaseThrottle]:
        if self.request.method == "DELETE":  # checks the password
            return [PasswordAttemptThrottle()]
        return super().get_throttles()

    @extend_schema(
        tags=TAGS,
        summary="The signed-in customer",
        responses={200: CustomerOutputSerializer, **NEEDS_AUTH},
    )
    def get(self, request: Request) -> Response:
        return Response(CustomerOutputSerializer(signed_in_user(request)).data)

    @extend_schema(
        tags=TAGS,
        summary="Change names, phone or SMS preference",
        request=CustomerUpdateInputSerializer,
        responses={200: CustomerOutputSerializer, **COMMON_ERRORS},
    )
    def patch(self, request: Request) -> Response:
        serializer = CustomerUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = shop_services.customer_update(
            customer=signed_in_user(request), data=serializer.validated_data
        )
        return Response(CustomerOutputSerializer(user).data)

    @extend_schema(
        tags=TAGS,
        summary="Erase the account's personal data (orders and payments stay for the books)",
        description=(
            "Confirmed with the password. Signs out every device and makes the account "
            'unusable; see the README, "Your data", for what is erased and what is kept.'
        ),
        request=AccountEraseInputSerializer,
        responses={
            204: None,
            400: error_response("validation_error or password_incorrect"),
            **NEEDS_AUTH,
            403: error_response("staff_account_not_erasable"),
            **LIMITED,
        },
    )
    def delete(self, request: Request) -> Response:
        serializer = AccountEraseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        personal_data.erase(user=signed_in_user(request), **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Everything the shop holds about the signed-in customer, as JSON",
        responses={200: PersonalDataSerializer, **NEEDS_AUTH},
    )
    def get(self, request: Request) -> Response:
        return Response(PersonalDataSerializer(personal_data.export(signed_in_user(request))).data)
