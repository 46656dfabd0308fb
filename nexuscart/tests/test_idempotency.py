import threading

import pytest
import requests

from nexuscart.models import IdempotencyRecord, OutboxEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("nexuscart.tests.support")]

URL = "/api/v1/test/pings"


def _post(client, body, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(URL, body, content_type="application/json", **headers)


def test_same_key_and_body_replays_the_first_response_without_a_second_effect(client):
    first = _post(client, {"note": "hello"})
    again = _post(client, {"note": "hello"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert OutboxEvent.objects.count() == 1


def test_the_body_is_compared_as_json_not_as_bytes(client):
    first = client.post(URL, '{"note": "a", "amount": 2}', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    again = client.post(URL, '{"amount":2,"note":"a"}', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert again.json() == first.json()


def test_same_key_with_another_body_is_422(client):
    _post(client, {"note": "hello"})
    other = _post(client, {"note": "goodbye"})
    assert other.status_code == 422
    assert other["Content-Type"] == "application/problem+json"
    assert other.json()["code"] == "idempotency_key_reused"
    assert OutboxEvent.objects.count() == 1


def test_missing_or_oversized_key_is_400_and_nothing_is_written(client):
    missing = _post(client, {"note": "hello"}, key=None)
    huge = _post(client, {"note": "hello"}, key="k" * 256)
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_required")
    assert (huge.status_code, huge.json()["code"]) == (400, "idempotency_key_invalid")
    assert OutboxEvent.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


def test_a_refused_request_is_replayed_as_refused(client):
    first = _post(client, {"note": "conflict"})
    again = _post(client, {"note": "conflict"})
    assert first.status_code == again.status_code == 409
    assert again.json()["code"] == "ping_conflict"


def test_a_server_error_is_not_stored_so_the_client_may_retry(client):
    client.raise_request_exception = False
    crashed = _post(client, {"note": "crash"})
    assert crashed.status_code == 500
    assert not IdempotencyRecord.objects.exists()


def test_keys_are_scoped_per_caller(client, django_user_model):
    anonymous = _post(client, {"note": "hello"})
    user = django_user_model.objects.create_user(email="a@example.com", password="x-Strong-pass-1")
    client.force_login(user)
    signed_in = _post(client, {"note": "hello"})
    assert signed_in.json()["id"] != anonymous.json()["id"]


@pytest.mark.slow
def test_concurrent_identical_requests_have_exactly_one_effect(live_server):
    results: list[requests.Response] = []
    barrier = threading.Barrier(20)

    def send() -> None:
        barrier.wait()
        results.append(
            requests.post(
                live_server.url + URL, json={"note": "race"}, headers={"Idempotency-Key": "race-key"}, timeout=30
            )
        )

    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(results) == 20
    created = [r for r in results if r.status_code == 201]
    assert len(created) + sum(r.status_code == 409 for r in results) == 20
    assert len({r.json()["id"] for r in created}) == 1
    assert OutboxEvent.objects.count() == 1
