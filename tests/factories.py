"""Test data every context's tests share: one UserFactory for the whole project.

It lives outside apps/ so any context's tests may import it without reaching into the user
context's internals (the import-linter contracts cover apps/, not tests/), and it builds users
through get_user_model() for the same reason. Context-specific factories stay with their context
and import this one (apps/user/tests/factories.py re-exports it).
"""

from __future__ import annotations

import uuid

import factory
from django.contrib.auth import get_user_model

# One password for every factory user, so any test can sign in as one.
PASSWORD = "Correct-Horse-Battery-42"


class UserFactory(factory.django.DjangoModelFactory):
    """An active shopper with a unique email (unique across runs too: order tables outlive flushes)."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.LazyFunction(lambda: f"shopper-{uuid.uuid4().hex[:12]}@example.com")
    first_name = "Ada"
    last_name = "Shopper"
    password = factory.django.Password(PASSWORD)
    is_active = True
