"""The benchmark's floor: the database ceiling's work, done by a bare Django view.

``bench/checkout.py`` serves this URLconf (``bench.floor_settings``: the project's settings,
middleware included) under the same gunicorn as the app. One POST locks a product row, inserts
an order and an inventory lock through the ORM, and commits: the pgbench script's work, with
no authentication, idempotency, cart, validation, audit event or order body. What the hot
checkout reaches against this floor tells how much of its distance from the database ceiling
is the framework on this machine, and how much is the checkout's own work.
"""

import json
import secrets
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from inventory.models import InventoryLock
from orders.models import Order
from shop.models import Product

PRICE = Decimal("1500.00")


@csrf_exempt
def floor_checkout(request: HttpRequest) -> JsonResponse:
    wanted = json.loads(request.body)
    now = timezone.now()
    with transaction.atomic():
        product = Product.objects.select_for_update().only("stock").get(pk=wanted["product"])
        order = Order.objects.create(
            number=f"FLR-{secrets.token_hex(6).upper()}",
            customer_id=wanted["customer"],
            payment_method="cod",
            currency="NGN",
            subtotal=PRICE,
            total=PRICE,
            shipping_address={},
        )
        InventoryLock.objects.create(
            product=product, owner=order.number, quantity=1, expires_at=now + timedelta(minutes=30)
        )
    return JsonResponse({"number": order.number}, status=201)


urlpatterns = [
    path("floor/checkout/", floor_checkout),
    path("", include("config.urls")),  # /healthz, which the benchmark waits for
]
