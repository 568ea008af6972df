"""What every admin list of the project shares."""

from typing import Any

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import DataError, ProgrammingError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect


class RefuseNulInFiltersMixin:
    """Answers a list URL the database or Python cannot take like any other bad filter.

    The admin accepts lookups on any field from the query string, so a typed URL can hold
    what the database refuses (a NUL, an invalid ``__regex``, a ``__range`` of three values)
    or a date the date hierarchy cannot build (year 9999). Its answer to an unusable filter
    is a redirect to the list with ``?e=1``; these get the same instead of a 500.
    """

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        params = request.GET.lists()
        if any("\x00" in key or any("\x00" in v for v in values) for key, values in params):
            raise IncorrectLookupParameters("A filter holds a NUL character.")
        try:
            return super().get_changelist_instance(request)  # type: ignore[misc,no-any-return]
        except (DataError, ProgrammingError, ValueError, OverflowError) as exc:
            if not request.GET:
                raise  # no filter to blame: a real error
            raise IncorrectLookupParameters(str(exc)) from exc

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        """An action on ids that are not ids of this model (a forged form) changes nothing."""
        pk = self.model._meta.pk  # type: ignore[attr-defined]
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                pk.to_python(value)
        except ValidationError:
            self.message_user(  # type: ignore[attr-defined]
                request, "The selected items are not valid; nothing was changed.", messages.ERROR
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)  # type: ignore[misc,no-any-return]
