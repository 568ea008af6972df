"""The API schema's class: every operation documents the errors any request may meet.

A module of its own: ``core.api`` is imported by DRF's settings (pagination, the exception
handler), and drf-spectacular's ``AutoSchema`` imports DRF's settings.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import SAFE_METHODS, AllowAny

from core.api import error_response


class DocumentedErrorsSchema(AutoSchema):
    """Every operation documents the errors any request to it may meet, beside those its own
    ``extend_schema`` lists: a bad or missing token (401), a permission or CSRF refusal
    (403), an object that is not there or not yours (404), a rate limit (429) and the
    database being away (503). What an operation lists itself keeps its own wording."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status_code, description in self._common_errors():
            code = str(status_code)
            if code not in responses:
                responses[code] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    error_response(description), code, direction=direction
                )
        return responses

    def _common_errors(self) -> list[tuple[int, str]]:
        view = self.view
        errors = []
        if getattr(view, "authentication_classes", None):
            errors.append((401, "not_authenticated or authentication_failed"))
        needs_user = not all(
            issubclass(cls, AllowAny) for cls in getattr(view, "permission_classes", [])
        )
        if needs_user and self.method not in SAFE_METHODS:
            errors.append((403, "permission_denied (e.g. a cookie session without CSRF token)"))
        if "{" in self.path:
            errors.append((404, "not_found (no such object, or not yours)"))
        elif self.method == "GET" and self._is_list_view() and self._paginated():
            errors.append((404, "not_found (a page past the end of the list)"))
        if getattr(view, "throttle_classes", None):
            errors.append((429, "throttled; `Retry-After` says when to retry"))
        errors.append((503, "database_unavailable; `Retry-After` says when to retry"))
        return errors

    def _paginated(self) -> bool:
        return self._get_paginator() is not None  # type: ignore[no-untyped-call]
