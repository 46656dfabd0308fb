"""Checkout authenticates from the token and the inactive-user set, not the user row (nexuscart.jwt_auth).

Deactivation must still stop a live token at checkout, as the row check did.
"""

import json
import uuid

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from apps.order.models import Order
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale

pytestmark = pytest.mark.django_db(transaction=True)  # deactivation reaches the set on commit


def _checkout(client, token, body):
    return client.post(
        "/api/v1/orders",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )


def test_a_deactivated_account_cannot_check_out_with_its_live_token(client, redis_client):
    user = UserFactory()
    token = AccessToken.for_user(user)
    sku = sku_for_sale(price=700, stock=5)
    body = {"items": [{"sku": sku, "quantity": 1}], "shipping_address_id": address_for(user.id)}
    assert _checkout(client, token, body).status_code == 201  # and "active" is now remembered

    user.is_active = False
    user.save()

    refused = _checkout(client, token, body)
    assert refused.status_code == 401, refused.content
    assert Order.objects.filter(user_id=user.id).count() == 1

    user.is_active = True
    user.save()
    assert _checkout(client, token, body).status_code == 201


def test_a_deleted_account_is_refused_not_a_server_error(client, redis_client):
    user = UserFactory()
    token = AccessToken.for_user(user)
    sku = sku_for_sale(price=700, stock=5)
    body = {"items": [{"sku": sku, "quantity": 1}], "shipping_address_id": address_for(user.id)}
    user_id = user.id
    user.delete()
    response = _checkout(client, token, body)
    # Its addresses went with it: a 4xx problem (the token itself expires within minutes).
    assert 400 <= response.status_code < 500, response.content
    assert not Order.objects.filter(user_id=user_id).exists()


def test_a_deleted_accounts_live_token_is_refused_with_401_at_checkout(client, redis_client):
    """The lean check reads no user row, so a deleted account's token used to pass it and the
    checkout answered 400 unknown_address (its addresses went with it). Deleting an account puts
    it in the inactive-user set, as deactivation does: 401, as for any refused token."""
    user = UserFactory()
    token = AccessToken.for_user(user)
    sku = sku_for_sale(price=700, stock=5)
    body = {"items": [{"sku": sku, "quantity": 1}], "shipping_address_id": address_for(user.id)}
    assert _checkout(client, token, body).status_code == 201  # and "active" is now remembered
    user_id = user.id
    user.delete()

    refused = _checkout(client, token, body)
    assert refused.status_code == 401, refused.content
    assert refused["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == "authentication_failed"
    listed = client.get("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (listed.status_code, listed.json()["code"]) == (401, "authentication_failed")
    assert Order.objects.filter(user_id=user_id).count() == 1
