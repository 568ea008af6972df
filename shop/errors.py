"""Refusals of the shop app (accounts, catalog, cart, addresses); codes in docs/api-errors.md."""

from core.errors import Conflict, DomainError, InvalidInput, NotFound


class EmailTaken(Conflict):
    code = "email_taken"
    message = "An account with this email address already exists."


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    http_status = 400
    message = "Unable to sign in with these email and password."


class EmailNotVerified(DomainError):
    code = "email_not_verified"
    http_status = 403
    message = "Verify your email address first: follow the link we sent you."


class ProductNotFound(NotFound):
    code = "product_not_found"
    message = "No such product."


class ProductInactive(Conflict):
    code = "product_inactive"
    message = "This product is not for sale any more."


class CurrencyMismatch(Conflict):
    code = "currency_mismatch"
    message = "A cart holds products of one currency only."


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    message = "Not enough units of this product are available."


class QuantityLimitExceeded(InvalidInput):
    code = "quantity_limit_exceeded"
    message = "A cart line cannot hold that many units."


class CartItemNotFound(NotFound):
    code = "cart_item_not_found"
    message = "No such item in your cart."


class AddressNotFound(NotFound):
    code = "address_not_found"
    message = "No such address in your address book."
