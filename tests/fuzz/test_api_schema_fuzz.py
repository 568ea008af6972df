"""Schemathesis against the API's own schema (`/api/schema/`), in process, on the test database.

Every operation gets a bounded number of generated requests, valid ones and invalid ones
(bodies, query and path parameters), once with a customer's token and once with a staff
member's. Every answer must be documented: no 5xx, and its status, content type and body are
what the schema says for that operation. `bench/fuzz_api.py` runs the same with many more.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation.modes import GenerationMode

from accounts.tokens import issue_token
from shop.platform_settings import set_setting
from tests.factories import AddressFactory, ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import fill_cart

# Requests per operation, token and mode in `make test`; bench/fuzz_api.py raises it.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

# What "documented" means: no 5xx; status, content type, headers and body as the schema says
# for the operation; and no operation that needs a token answers without one. Not asked:
# that every schema-valid body is accepted (a phone number's format, a business rule).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.ignored_auth,
]


@pytest.fixture
def api_schema(db) -> Iterator[schemathesis.BaseSchema]:
    # Django's WSGI handler closes a connection found inside a transaction at the end of each
    # request; the test's own transaction is such one. Its test client unhooks that, as here.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def shop_with_a_customer_and_staff() -> dict[str, dict[str, str]]:
    """Something for the generated requests to find: products, a cart, an address; and the
    Authorization headers of a customer and of a staff member (a superuser)."""
    set_setting("checkout.allowed_payment_methods", ["bank_transfer", "cod"])
    products = [ProductFactory.create(stock=50) for _ in range(3)]
    customer = UserFactory.create()
    fill_cart(customer, [(products[0], 1)])
    AddressFactory.create(customer=customer)
    staff = StaffFactory.create(is_superuser=True)
    return {
        "customer": {"Authorization": f"Token {issue_token(customer).token}"},
        "staff": {"Authorization": f"Token {issue_token(staff).token}"},
    }


def undocumented_answers(
    schema: schemathesis.BaseSchema, headers: dict[str, str], mode: GenerationMode
) -> list[str]:
    """Run every operation's generated requests; the failures, one line per operation."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # a report, not a shrunk minimum
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            call()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label  # nothing in it to break
        except Exception as exc:  # schemathesis' check failures, any other error alike
            failures.append(f"{operation.label}: {exc}")
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("who", ["customer", "staff"])
def test_generated_requests_get_only_documented_answers(api_schema, who, mode):
    headers = shop_with_a_customer_and_staff()[who]

    failures = undocumented_answers(api_schema, headers, mode)

    assert not failures, "\n\n".join(failures)
