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
    assert {"shop", "orders", "payments", "notifications", "inventory", "security"} <= apps


@pytest.mark.parametrize(
    ("model", "field"), FILTERED_LISTS, ids=[m._meta.label for m, _ in FILTERED_LISTS]
)
def test_a_nul_character_in_a_list_filter_is_refused_like_a_bad_filter(admin_client, model, field):
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/?{field}__exact=%00"

    response = admin_client.get(url)

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize(
    "url",
    [
        "/admin/orders/order/?number__regex=[",
        "/admin/shop/user/?email__range=a,b",
        "/admin/notifications/notification/?created_at__year=9999",
        "/admin/security/auditevent/?at__year=9999&at__month=12&at__day=31",
    ],
    ids=["invalid regex", "range of the wrong shape", "year 9999", "last day of 9999"],
)
def test_a_lookup_the_database_or_the_date_hierarchy_refuses_is_a_bad_filter(admin_client, url):
    response = admin_client.get(url)

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_a_bulk_action_on_ids_that_are_not_ids_changes_nothing(admin_client):
    from tests.factories import OrderFactory

    order = OrderFactory(state="paid", payment_status="paid")

    response = admin_client.post(
        "/admin/orders/order/",
        {"action": "bulk_mark_processing", "_selected_action": ["x", str(order.pk)], "index": 0},
        follow=True,
    )

    assert response.status_code == 200
    assert b"The selected items are not valid; nothing was changed." in response.content
    order.refresh_from_db()
    assert order.state == "paid"  # the valid id in the forged form was not moved either
