"""Guest checkout: an account without a password, made from the e-mail a guest gives at checkout.

The guest's orders belong to it like anyone's (orders are partitioned by user id). The guest is
signed in for the rest of that browser session, so they can pay and follow the order; they keep
the account by choosing a password (allauth's "set password" page). From another device the
same e-mail claims it by the password-reset link, which proves they own the mailbox: typing an
e-mail alone never opens someone's orders.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from apps.user.events import UserRegistered
from apps.user.models import User
from nexuscart.errors import ApplicationError, Conflict
from nexuscart.outbox import publish


def guest_account_create(*, email: str, first_name: str = "", last_name: str = "") -> User:
    """A new password-less account for this e-mail; Conflict "account_exists" if the e-mail has one."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ApplicationError("The e-mail address is not valid.", code="invalid_email") from exc
    exists = Conflict(
        "This e-mail address already has an account: sign in to check out, or reset its password to claim it.",
        code="account_exists",
    )
    if User.objects.filter(email__iexact=email).exists():
        raise exists
    try:
        with transaction.atomic():
            user = User(email=email, first_name=first_name, last_name=last_name)
            user.set_unusable_password()
            user.save()
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
            publish(UserRegistered(user_id=user.pk, email=user.email))
    except IntegrityError as exc:  # a concurrent checkout with the same e-mail won
        raise exists from exc
    return user


def is_guest(user) -> bool:
    """A guest account: signed in by checkout, no password chosen yet."""
    return bool(getattr(user, "is_authenticated", False)) and not user.has_usable_password()
