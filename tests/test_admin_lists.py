"""Every admin list answers a filter holding a NUL character as a bad filter, not a 500."""

import pytest
from django.contrib import admin

pytestmark = pytest.mark.django_db

# Each registered admin of ours whose list can be filtered, with its first filter field.
FILTERED_LISTS = [
    (model, model_admin.list_filter[0])
    for model, model_admin in admin.site._registry.items()
    if model_admin.list_filter and isinstance(model_admin.list_filter[0], str)
]


def test_the_filtered_lists_of_every_app_are_covered():
    apps = {model._meta.app_label for model, _ in FILTERED_LISTS}
    assert {"shop", "orders", "payments", "notifications", "inventory", "observability"} <= apps


@pytest.mark.parametrize(
    ("model", "field"), FILTERED_LISTS, ids=[m._meta.label for m, _ in FILTERED_LISTS]
)
def test_a_nul_character_in_a_list_filter_is_refused_like_a_bad_filter(admin_client, model, field):
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/?{field}__exact=%00"

    response = admin_client.get(url)

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
