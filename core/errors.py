"""Domain errors: every refusal a service can make, with a stable code and an HTTP status.

Services raise these; the one DRF exception handler in ``core.api`` renders them as
``{"error": {"code", "message", "details"}}``. Nothing else decides an error's shape.
"""

from typing import Any


class DomainError(Exception):
    code: str = "domain_error"
    http_status: int = 400
    message: str = "The request could not be carried out."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.message
        self.details = details or {}
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    http_status = 404
    message = "Not found."


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
    message = "The request conflicts with the current state."


class InvalidInput(DomainError):
    code = "invalid_input"
    http_status = 400
    message = "The request is not valid."
