"""Tell the hot path when an account is deactivated or reactivated (nexuscart.active_users)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.user.models import User
from nexuscart import active_users


@receiver(post_save, sender=User, dispatch_uid="nexuscart-hot-active-users")
def _on_user_saved(sender: Any, instance: User, update_fields: Any = None, created: bool = False, **_: Any) -> None:
    if update_fields is not None and "is_active" not in update_fields:
        return  # e.g. last_login on every sign-in: nothing the hot path needs
    if created and instance.is_active:
        return
    user_id, active = instance.pk, instance.is_active
    transaction.on_commit(lambda: active_users.mark_active(user_id, active))
