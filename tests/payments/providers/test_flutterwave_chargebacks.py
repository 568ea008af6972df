"""Flutterwave chargebacks: the fake's GET /v3/chargebacks and the provider's normalisation."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from payments.gateways import get_provider
from payments.providers.errors import GatewayBadResponse, GatewayUnavailable
from payments.providers.flutterwave_events import CHARGEBACK_STATUSES, chargeback_event

REFERENCE = "ORD-1001-a1"


@pytest.fixture
def flutterwave(fake_flutterwave):
    return get_provider("flutterwave")


@pytest.fixture
def paid(flutterwave, fake_flutterwave, payment_request):
    flutterwave.create_payment(payment_request(amount="7500.50"))
    fake_flutterwave.pay(REFERENCE)
    return fake_flutterwave.transactions[REFERENCE]


def _get(fake, **params):
    return requests.get(
        f"{fake.base_url}/v3/chargebacks",
        params=params,
        headers={"Authorization": f"Bearer {fake.secret_key}"},
        timeout=5,
    )


# --- the fake's endpoint ------------------------------------------------------------------
def test_fake_lists_chargebacks_in_the_documented_shape(fake_flutterwave, paid):
    chargeback_id = fake_flutterwave.open_chargeback(REFERENCE)

    response = _get(fake_flutterwave)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "message", "meta", "data"}
    assert (body["status"], body["message"]) == ("success", "Chargebacks fetched")
    assert body["meta"] == {
        "page_info": {"total": 1, "current_page": 1, "total_pages": 1, "page_size": 20}
    }
    [item] = body["data"]
    assert set(item) == {
        "id", "amount", "flw_ref", "status", "stage", "comment", "meta", "due_date",
        "settlement_id", "created_at", "transaction_id", "tx_ref",
    }  # fmt: skip
    assert item["id"] == chargeback_id
    assert item["amount"] == 7500.50
    assert (item["status"], item["stage"]) == ("initiated", "new")
    assert (item["tx_ref"], item["transaction_id"]) == (REFERENCE, paid["id"])
    assert item["flw_ref"] == paid["flw_ref"]
    assert set(item["meta"]) == {"uploaded_proof", "history"}


def test_fake_filters_by_status_and_date_and_refuses_a_bad_key(fake_flutterwave, paid):
    old = fake_flutterwave.open_chargeback(REFERENCE, created_days_ago=10)
    new = fake_flutterwave.open_chargeback(REFERENCE)
    fake_flutterwave.resolve_chargeback(old, won=True)

    assert [c["id"] for c in _get(fake_flutterwave, status="won").json()["data"]] == [old]
    assert [c["id"] for c in _get(fake_flutterwave, status="initiated").json()["data"]] == [new]
    recent = datetime.now(UTC).date().isoformat()
    assert [c["id"] for c in _get(fake_flutterwave, **{"from": recent}).json()["data"]] == [new]
    refused = requests.get(f"{fake_flutterwave.base_url}/v3/chargebacks", timeout=5)
    assert refused.status_code == 401
    assert refused.json()["status"] == "error"


# --- normalisation --------------------------------------------------------------------------
def _item(status: str, **extra):
    return {
        "id": 1390,
        "amount": 100,
        "flw_ref": "URF_1600800139900_3999635",
        "status": status,
        "stage": "new",
        "comment": "This is the payment",
        "meta": {
            "uploaded_proof": None,
            "history": [
                {"initiator": "dispute", "date": "2020-09-22T07:01:28.000Z"},
                {"action": status, "stage": "new", "date": "2020-09-23T04:03:05.000Z"},
            ],
        },
        "due_date": "2020-09-23T15:59:59.000Z",
        "settlement_id": "N/A",
        "created_at": "2020-09-22T19:01:28.000Z",
        "transaction_id": 1554166,
        "tx_ref": "10",
        **extra,
    }


@pytest.mark.parametrize(
    ("status", "kind", "dispute_status"),
    [
        ("initiated", "dispute_opened", "open"),
        ("pending", "dispute_opened", "open"),
        ("declined", "dispute_opened", "open"),  # we contested it: still open
        ("accepted", "dispute_resolved", "lost"),  # we conceded: the customer is paid back
        ("won", "dispute_resolved", "won"),
        ("lost", "dispute_resolved", "lost"),
    ],
)
def test_each_chargeback_status_becomes_a_dispute_event(status, kind, dispute_status):
    event = chargeback_event(_item(status))

    assert (event.kind, event.event_type) == (kind, f"chargeback.{status}")
    assert event.event_key == f"chargeback:1390:{status}"
    assert (event.gateway, event.reference, event.trusted) == ("flutterwave", "10", True)
    assert event.gateway_ids == {"transaction_id": "1554166"}
    assert (event.amount, event.currency) == (Decimal("100"), None)
    assert event.dispute is not None
    assert event.dispute.gateway_dispute_id == "1390"
    assert event.dispute.status == dispute_status
    assert event.dispute.reason == "This is the payment"
    assert event.dispute.evidence_due == datetime(2020, 9, 23, 15, 59, 59, tzinfo=UTC)
    assert event.dispute.amount == Decimal("100")
    opened = datetime(2020, 9, 22, 19, 1, 28, tzinfo=UTC)
    changed = datetime(2020, 9, 23, 4, 3, 5, tzinfo=UTC)
    assert event.occurred_at == (opened if kind == "dispute_opened" else changed)


def test_an_unknown_chargeback_status_is_recorded_but_not_acted_upon():
    event = chargeback_event(_item("reversed"))

    assert (event.kind, event.dispute, event.event_key) == (
        "unknown",
        None,
        "chargeback:1390:reversed",
    )


def test_a_chargeback_without_a_usable_amount_keeps_the_dispute_without_one():
    assert chargeback_event(_item("initiated", amount=0)).dispute.amount is None
    with pytest.raises(TypeError):
        chargeback_event(_item("initiated", amount=True))


# --- list_chargebacks over the fake ---------------------------------------------------------
def test_list_chargebacks_asks_each_status_since_the_day_and_normalises(
    flutterwave, fake_flutterwave, paid
):
    opened = fake_flutterwave.open_chargeback(REFERENCE, amount=Decimal("2000.00"))
    resolved = fake_flutterwave.open_chargeback(REFERENCE)
    fake_flutterwave.resolve_chargeback(resolved, won=False)

    events = flutterwave.list_chargebacks(datetime(2026, 1, 31, 23, 30, tzinfo=UTC))

    calls = fake_flutterwave.calls("GET", "/v3/chargebacks")
    assert [(c.query["status"], c.query["from"], c.query["page"]) for c in calls] == [
        ([s], ["2026-01-31"], ["1"]) for s in CHARGEBACK_STATUSES
    ]
    assert [(e.event_key, e.kind, e.amount, e.reference) for e in events] == sorted(
        [
            (f"chargeback:{opened}:initiated", "dispute_opened", Decimal("2000.00"), REFERENCE),
            (f"chargeback:{resolved}:lost", "dispute_resolved", Decimal("7500.50"), REFERENCE),
        ]
    )
    assert {e.gateway_ids["transaction_id"] for e in events} == {str(paid["id"])}


def test_list_chargebacks_follows_the_pages(flutterwave, fake_flutterwave, paid):
    fake_flutterwave.chargeback_page_size = 2
    ids = {fake_flutterwave.open_chargeback(REFERENCE) for _ in range(5)}

    events = flutterwave.list_chargebacks(None)

    assert {e.dispute.gateway_dispute_id for e in events} == {str(i) for i in ids}
    initiated = [c for c in fake_flutterwave.calls("GET", "/v3/chargebacks")
                 if c.query["status"] == ["initiated"]]  # fmt: skip
    assert [c.query["page"] for c in initiated] == [["1"], ["2"], ["3"]]
    assert all("from" not in c.query for c in initiated)


def test_list_chargebacks_is_retried_on_5xx_then_surfaced(
    flutterwave, fake_flutterwave, paid, backoff_sleeps
):
    fake_flutterwave.open_chargeback(REFERENCE)
    fake_flutterwave.fail_next(2, status=503, path_contains="/v3/chargebacks")

    assert len(flutterwave.list_chargebacks(None)) == 1
    assert len(backoff_sleeps) == 2

    fake_flutterwave.fail_next(3, status=503, path_contains="/v3/chargebacks")
    with pytest.raises(GatewayUnavailable):
        flutterwave.list_chargebacks(None)


def test_list_chargebacks_refuses_a_malformed_answer(flutterwave, fake_flutterwave):
    fake_flutterwave.answer_next(
        body=b'{"status":"success","data":{}}', path_contains="/v3/chargebacks"
    )
    with pytest.raises(GatewayBadResponse):
        flutterwave.list_chargebacks(None)

    fake_flutterwave.answer_next(
        body=b'{"status":"success","data":[{"id":1,"amount":100}]}',  # no status
        path_contains="/v3/chargebacks",
    )
    with pytest.raises(GatewayBadResponse):
        flutterwave.list_chargebacks(None)
