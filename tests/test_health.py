import pytest
from django.test import override_settings


@pytest.mark.django_db
def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_and_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.django_db
def test_unknown_api_url_answers_json_not_found(client):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["shop.example.com"])
def test_probes_by_address_answer_whatever_allowed_hosts_says(client):
    # A container health check calls 127.0.0.1:8000, not the site's name.
    assert client.get("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 200
    ready = client.get("/readyz", HTTP_HOST="127.0.0.1:8000")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    # everything else still refuses a host it does not serve
    assert client.get("/api/products/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    assert client.get("/api/products/", HTTP_HOST="shop.example.com").status_code == 200
    assert client.post("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 405
