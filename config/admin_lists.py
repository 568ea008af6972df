"""What every admin list of the project shares."""

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.http import HttpRequest


class RefuseNulInFiltersMixin:
    """Answers a list URL whose filters hold a NUL character like any other bad filter.

    PostgreSQL cannot compare text with NUL, so such a filter would fail in the database; the
    admin's answer to an unusable filter is a redirect to the list with ``?e=1``.
    """

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        params = request.GET.lists()
        if any("\x00" in key or any("\x00" in v for v in values) for key, values in params):
            raise IncorrectLookupParameters("A filter holds a NUL character.")
        return super().get_changelist_instance(request)  # type: ignore[misc]
