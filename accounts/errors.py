"""Refusals of the accounts app (sign-in, passwords, verification, erasure); codes in
docs/api-errors.md."""

from core.errors import DomainError


class SecondFactorRequired(DomainError):
    code = "otp_required"
    http_status = 400
    message = "This account signs in with a code from its authenticator app: send it as otp."


class SecondFactorInvalid(DomainError):
    code = "invalid_otp"
    http_status = 400
    message = "The authentication code is wrong, already used or expired."


class SecondFactorSetupRequired(DomainError):
    code = "otp_setup_required"
    http_status = 403
    message = "This account must set up two-factor sign-in in the admin before using the API."


class InvalidLink(DomainError):
    code = "invalid_link"
    http_status = 400
    message = "This link is invalid, already used or expired. Ask for a new one."


class PasswordIncorrect(DomainError):
    code = "password_incorrect"
    http_status = 400
    message = "The password is not right."


class EmailAlreadyVerified(DomainError):
    code = "email_already_verified"
    http_status = 409
    message = "This email address is already verified."


class StaffAccountNotErasable(DomainError):
    code = "staff_account_not_erasable"
    http_status = 403
    message = "Staff accounts are closed by an administrator, not erased through the API."
