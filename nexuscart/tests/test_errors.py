import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("nexuscart.tests.support")]

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


def _assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body.keys() >= PROBLEM_FIELDS
    assert (body["status"], body["code"]) == (status, code)
    return body


def test_unknown_api_path_is_a_404_problem(client):
    _assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_a_405_problem(client):
    _assert_problem(client.get("/api/v1/test/pings"), 405, "method_not_allowed")


def test_malformed_json_is_a_400_problem(client):
    response = client.post("/api/v1/test/pings", "{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    _assert_problem(response, 400, "malformed_request")


@pytest.mark.parametrize(
    "body",
    [{}, {"note": 42, "amount": "many"}, {"note": "x" * 10_000}, {"note": "ok", "amount": -1}, ["not", "an", "object"]],
)
def test_invalid_fields_are_a_400_problem_listing_the_fields(client, body):
    response = client.post("/api/v1/test/pings", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    problem = _assert_problem(response, 400, "validation_error")
    assert problem["errors"]


def test_unsupported_media_type_is_a_415_problem(client):
    response = client.post("/api/v1/test/pings", "note=x", content_type="text/plain", HTTP_IDEMPOTENCY_KEY="k")
    _assert_problem(response, 415, "unsupported_media_type")


def test_an_unhandled_exception_is_a_500_problem_without_internals(client):
    client.raise_request_exception = False
    response = client.post(
        "/api/v1/test/pings", {"note": "crash"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    body = _assert_problem(response, 500, "internal_error")
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in body["detail"]


def test_every_response_carries_a_request_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    assert len(client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"]) == 32
