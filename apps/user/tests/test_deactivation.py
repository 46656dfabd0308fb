"""Bulk deactivation reaches the inactive-user set (nexuscart.active_users), so a deactivated
account's live JWT is refused by the lean JWT check (/api/v1/orders) and by the hot path.

A bulk `update(is_active=False)` sends no post_save: it used to leave the set untouched, and the
token went on working until it expired.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from apps.user import services
from apps.user.models import User
from apps.user.tests.factories import UserFactory
from nexuscart.active_users import INACTIVE_USERS_KEY

pytestmark = pytest.mark.django_db(transaction=True)  # the set is written on commit


def _orders_status(user: User) -> int:
    token = AccessToken.for_user(user)
    return Client().get("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def _inactive(redis_client) -> set[int]:
    return {int(member) for member in redis_client.smembers(INACTIVE_USERS_KEY)}


def test_admin_bulk_deactivation_refuses_the_accounts_live_tokens(client, redis_client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    gone, also_gone, stays = UserFactory(), UserFactory(), UserFactory()
    assert [_orders_status(u) for u in (gone, also_gone, stays)] == [200, 200, 200]  # "active" remembered

    client.force_login(staff)
    response = client.post(
        "/admin/user/user/",
        {"action": "deactivate_accounts", "_selected_action": [gone.pk, also_gone.pk, staff.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "2 account(s) deactivated." in response.content.decode()  # never the staff member's own

    assert _inactive(redis_client) == {gone.pk, also_gone.pk}
    assert [_orders_status(u) for u in (gone, also_gone, stays)] == [401, 401, 200]
    assert User.objects.get(pk=staff.pk).is_active

    client.post("/admin/user/user/", {"action": "activate_accounts", "_selected_action": [gone.pk]})
    assert _inactive(redis_client) == {also_gone.pk}
    assert _orders_status(gone) == 200


def test_the_service_records_every_selected_account_and_repairs_a_bypassed_update(redis_client):
    first, second = UserFactory(), UserFactory()
    assert services.users_set_active(user_ids=[first.pk, second.pk], active=False) == 2
    assert _inactive(redis_client) == {first.pk, second.pk}
    assert _orders_status(first) == 401

    # A bulk update that bypassed the set: running the service again records it (0 rows changed).
    third = UserFactory()
    User.objects.filter(pk=third.pk).update(is_active=False)
    assert services.users_set_active(user_ids=[third.pk], active=False) == 0
    assert third.pk in _inactive(redis_client)

    assert services.users_set_active(user_ids=[first.pk, second.pk, third.pk, 10**12], active=True) == 3
    assert _inactive(redis_client) == set()
    assert _orders_status(first) == 200


def test_deleted_accounts_join_the_set_so_their_live_tokens_are_refused(client, redis_client):
    """The admin's bulk delete (a QuerySet.delete()) and a single delete both record the accounts:
    the lean JWT check reads no row, so without it a deleted account's token still passed."""
    staff = UserFactory(is_staff=True, is_superuser=True)
    users = [UserFactory() for _ in range(4)]  # bulk-deleted, bulk-deleted, kept, deleted alone
    ids = [u.pk for u in users]
    tokens = [AccessToken.for_user(u) for u in users]

    def statuses() -> list[int]:
        return [Client().get("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {t}").status_code for t in tokens]

    assert statuses() == [200] * 4  # "active" remembered in this process

    client.force_login(staff)
    response = client.post(
        "/admin/user/user/", {"action": "delete_selected", "_selected_action": ids[:2], "post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert not User.objects.filter(pk__in=ids[:2]).exists()
    users[3].delete()

    assert _inactive(redis_client) == {ids[0], ids[1], ids[3]}
    assert statuses() == [401, 401, 200, 401]


@pytest.mark.slow
@pytest.mark.parametrize(
    "end_account",
    [
        pytest.param(lambda user: services.users_set_active(user_ids=[user.pk], active=False), id="bulk-deactivated"),
        pytest.param(lambda user: user.delete(), id="deleted"),
    ],
)
def test_the_hot_path_refuses_an_ended_accounts_token(uvicorn_server, redis_client, end_account):
    server = uvicorn_server()
    http = server.session()
    user = UserFactory()
    headers = {"Authorization": f"Bearer {AccessToken.for_user(user)}"}
    status_url = f"{server.url}/api/v1/flash-sales/reservations/999999999"
    assert http.get(status_url, headers=headers, timeout=10).status_code == 404  # a valid token: no such one

    end_account(user)
    time.sleep(1.2)  # the hot process may remember "active" for HOT_ACTIVE_CHECK_SECONDS (1 s)
    refused = http.get(status_url, headers=headers, timeout=10)
    assert (refused.status_code, refused.json()["code"]) == (401, "authentication_failed")
