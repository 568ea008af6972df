"""Refusals of the notifications app, with stable codes."""

from core.errors import DomainError


class UnknownNotificationEvent(DomainError):
    code = "unknown_notification_event"
    message = "There is no such notification event."


class NotificationContextInvalid(DomainError):
    code = "notification_context_invalid"
    message = "The notification context is missing required values."


class InvalidRecipient(DomainError):
    code = "invalid_recipient"
    message = "The notification recipient is not a valid email address or phone number."
