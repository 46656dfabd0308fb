"""Services and selectors other contexts use, events through the outbox, and the default-address race."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.user import selectors, services
from apps.user.models import Address
from apps.user.tests.factories import PASSWORD, AddressFactory, UserFactory
from nexuscart.errors import ApplicationError, NotFound
from nexuscart.models import OutboxEvent


@pytest.mark.django_db
def test_user_get_returns_a_snapshot():
    user = UserFactory(email="snap@example.com", is_staff=True)

    assert selectors.user_get(user_id=user.pk) == selectors.UserSnapshot(
        id=user.pk, email="snap@example.com", first_name="Ada", last_name="Shopper", is_staff=True, is_active=True
    )
    assert selectors.user_get(user_id=user.pk + 1000) is None


@pytest.mark.django_db
def test_address_get_only_returns_the_users_own_address():
    address = AddressFactory(line1="5 Pine St", postal_code="02108", state="MA", city="Boston")

    mine = selectors.address_get(user_id=address.user_id, address_id=address.pk)
    theirs = selectors.address_get(user_id=UserFactory().pk, address_id=address.pk)

    assert mine == selectors.AddressSnapshot(
        id=address.pk,
        name="Ada Shopper",
        line1="5 Pine St",
        line2="",
        city="Boston",
        state="MA",
        postal_code="02108",
        country="US",
        phone="+1 415 555 0100",
        is_default_shipping=False,
    )
    assert theirs is None


@pytest.mark.django_db
def test_register_publishes_user_registered_in_the_same_transaction():
    user = services.user_register(email="event@example.com", password="Another-Good-Pass-77")

    event = OutboxEvent.objects.get(event_type="user.UserRegistered")
    assert (event.aggregate_type, event.aggregate_id) == ("user", str(user.pk))
    assert event.payload == {"user_id": user.pk, "email": "event@example.com"}


@pytest.mark.django_db
def test_a_refused_registration_publishes_nothing():
    UserFactory(email="dupe@example.com")

    with pytest.raises(ApplicationError):
        services.user_register(email="DUPE@example.com", password="Another-Good-Pass-77")

    assert not OutboxEvent.objects.filter(event_type="user.UserRegistered").exists()


@pytest.mark.django_db
def test_deleting_the_default_leaves_no_default_and_set_default_picks_one():
    user = UserFactory()
    first = services.address_create(
        user_id=user.pk, name="A", line1="1 A St", city="Reno", state="NV", postal_code="89501"
    )
    second = services.address_create(
        user_id=user.pk, name="B", line1="2 B St", city="Reno", state="NV", postal_code="89501"
    )

    services.address_delete(user_id=user.pk, address_id=first.pk)
    assert selectors.address_default_shipping_get(user_id=user.pk) is None
    services.address_set_default_shipping(user_id=user.pk, address_id=second.pk)

    assert selectors.address_default_shipping_get(user_id=user.pk).id == second.pk


@pytest.mark.django_db
def test_set_default_on_someone_elses_address_is_not_found():
    address = AddressFactory()

    with pytest.raises(NotFound):
        services.address_set_default_shipping(user_id=UserFactory().pk, address_id=address.pk)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_set_default_leaves_exactly_one_default():
    user = UserFactory()
    addresses = [AddressFactory(user=user, line1=f"{n} Oak St") for n in range(8)]
    barrier = threading.Barrier(len(addresses))
    errors: list[BaseException] = []

    def make_default(address_id: int) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                services.address_set_default_shipping(user_id=user.pk, address_id=address_id)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=make_default, args=(a.pk,)) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Address.objects.filter(user=user, is_default_shipping=True).count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_succeed_once():
    user = UserFactory()
    refresh = services.token_pair_obtain(email=user.email, password=PASSWORD).refresh
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def swap() -> None:
        try:
            barrier.wait()
            services.token_pair_refresh(refresh=refresh)
            outcomes.append("ok")
        except services.InvalidToken:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=swap) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ok"] + ["refused"] * 5
