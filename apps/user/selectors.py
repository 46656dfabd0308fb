"""Read queries of the user context, for its own views and for other contexts.

Other contexts get frozen snapshots, never model instances, so nothing outside this app can
lazy-load or save a user row.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from apps.user.models import Address, User


@dataclass(frozen=True)
class UserSnapshot:
    id: int
    email: str
    first_name: str
    last_name: str
    is_staff: bool
    is_active: bool


@dataclass(frozen=True)
class AddressSnapshot:
    id: int
    name: str
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str
    phone: str
    is_default_shipping: bool


def _user_snapshot(user: User) -> UserSnapshot:
    return UserSnapshot(
        id=user.pk,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        is_staff=user.is_staff,
        is_active=user.is_active,
    )


def address_snapshot(address: Address) -> AddressSnapshot:
    return AddressSnapshot(
        id=address.pk,
        name=address.name,
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        state=address.state,
        postal_code=address.postal_code,
        country=address.country,
        phone=address.phone,
        is_default_shipping=address.is_default_shipping,
    )


def user_get(*, user_id: int) -> UserSnapshot | None:
    user = User.objects.filter(pk=user_id).first()
    return _user_snapshot(user) if user else None


def user_email_subquery(*, user_id_field: str = "user_id") -> Subquery:
    """The user's e-mail as a subquery on another context's rows (e.g. an admin list annotates its
    queryset with it), so a list of 50 orders is one query, not one per row."""
    return Subquery(User.objects.filter(pk=OuterRef(user_id_field)).values("email")[:1])


# A fixed text, not an ORM .first() compiled per call: checkout reads one address per order and
# the compilation was ~12% of its Python CPU (issue 10). Columns in AddressSnapshot's order.
_ADDRESS_SQL = f"""
SELECT id, name, line1, line2, city, state, postal_code, country, phone, is_default_shipping
FROM {Address._meta.db_table} WHERE id = %s AND user_id = %s
"""


def address_get(*, user_id: int, address_id: int) -> AddressSnapshot | None:
    """The user's own address, or None (also when it belongs to someone else)."""
    with connection.cursor() as cursor:
        cursor.execute(_ADDRESS_SQL, [int(address_id), int(user_id)])
        row = cursor.fetchone()
    return AddressSnapshot(*row) if row else None


def address_list(*, user_id: int) -> list[AddressSnapshot]:
    return [address_snapshot(a) for a in address_queryset(user_id=user_id)]


def address_queryset(*, user_id: int) -> QuerySet[Address]:
    """For this context's own views and services (default first, then oldest first)."""
    return Address.objects.filter(user_id=user_id).order_by("-is_default_shipping", "id")


def address_default_shipping_get(*, user_id: int) -> AddressSnapshot | None:
    address = Address.objects.filter(user_id=user_id, is_default_shipping=True).first()
    return address_snapshot(address) if address else None
