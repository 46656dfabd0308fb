"""Staff roles (issue 13 #3): a role-by-URL matrix over every staff API, and the admin actions per role.

A role reaches an endpoint when the answer is anything but 401/403 (the bodies here are empty or
name nothing that exists, so an allowed call stops at validation or at a 404). Being staff alone
reaches nothing; a superuser reaches everything.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("support", "merchandiser", "warehouse", "finance")

# URL -> the roles that may call it
STAFF_APIS = {
    "/api/v1/staff/inventory/NO-SUCH-SKU/adjust": {"warehouse"},
    "/api/v1/staff/orders/1/ship": {"warehouse"},
    "/api/v1/staff/orders/1/complete": {"warehouse"},
    "/api/v1/staff/orders/1/refund": {"finance"},
    "/api/v1/staff/coupons": {"merchandiser"},
    "/api/v1/staff/flash-sales": {"merchandiser"},
    "/api/v1/staff/flash-sales/999999/warmup": {"merchandiser"},
}


def _account(kind: str):
    if kind == "superuser":
        return UserFactory(is_staff=True, is_superuser=True)
    if kind == "customer":
        return UserFactory()
    user = UserFactory(is_staff=True)
    if kind != "staff-without-role":
        user.groups.add(Group.objects.get(name=kind))
    return user


def test_the_four_roles_exist():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


@pytest.mark.parametrize("kind", [*ROLES, "staff-without-role", "customer", "superuser"])
@pytest.mark.parametrize("url", list(STAFF_APIS))
def test_role_by_url_matrix(client, kind, url):
    client.force_login(_account(kind))

    response = client.post(url, {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"roles-{kind}")

    allowed = kind == "superuser" or kind in STAFF_APIS[url]
    if allowed:
        assert response.status_code not in (401, 403), (kind, url, response.content)
    else:
        assert response.status_code == 403, (kind, url, response.status_code)
        assert response["Content-Type"] == "application/problem+json"


def test_anonymous_is_401_or_403_everywhere(client):
    for url in STAFF_APIS:
        assert client.post(url, {}, content_type="application/json").status_code in (401, 403)


# --- admin actions -------------------------------------------------------------------------------
ADMIN_ACTIONS = {
    ("payment", "payment"): {"refund_remaining": {"finance"}},
    ("payment", "paymentflag"): {"mark_resolved": {"finance", "support"}},
    ("order", "order"): {
        "ship_orders": {"warehouse"},
        "complete_orders": {"warehouse"},
        "cancel_orders": {"warehouse"},
        "await_payment": {"warehouse"},
    },
    ("promotion", "flashsalecampaign"): {"warm_up": {"merchandiser"}, "finish": {"merchandiser"}},
    ("catalog", "product"): {"activate": {"merchandiser"}, "deactivate": {"merchandiser"}},
    ("nexuscart", "outboxevent"): {"retry_failed": set()},
}


def _model_admin(app_label: str, model_name: str):
    for model, model_admin in admin.site._registry.items():
        if (model._meta.app_label, model._meta.model_name) == (app_label, model_name):
            return model_admin
    raise LookupError(f"{app_label}.{model_name} is not in the admin")


@pytest.mark.parametrize("kind", [*ROLES, "staff-without-role", "superuser"])
def test_admin_actions_follow_the_roles(kind):
    request = RequestFactory().get("/admin/")
    request.user = _account(kind)
    for (app_label, model_name), actions in ADMIN_ACTIONS.items():
        offered = set(_model_admin(app_label, model_name).get_actions(request))
        for action, roles in actions.items():
            expected = kind == "superuser" or kind in roles
            assert (action in offered) == expected, (kind, app_label, model_name, action, sorted(offered))
