"""allauth hooks: sign-ups made by allauth (storefront form, social login) record UserRegistered too;
its per-address limits use nexuscart.client_ip."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.db import transaction

from apps.user import services
from nexuscart import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request):
        # allauth's own per-address limits (sign-up, password reset) see the same client as every
        # other limit: behind the edge, REMOTE_ADDR is the edge for everyone.
        return client_ip.from_meta(request.META) or super().get_client_ip(request)

    def clean_email(self, email: str) -> str:
        # Stored lowercased, like the API does, so one person is one account whatever the case.
        return super().clean_email(email).strip().lower()

    def save_user(self, request, user, form, commit=True):
        if not commit:
            return super().save_user(request, user, form, commit=False)
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=True)
            services.user_signup_record(user=user)
        return user


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.email = (user.email or "").strip().lower()
        return user

    def save_user(self, request, sociallogin, form=None):
        with transaction.atomic():
            user = super().save_user(request, sociallogin, form)
            if form is None:  # with a form, AccountAdapter.save_user has recorded it already
                services.user_signup_record(user=user)
        return user
