"""Account activation, and telling the hot path when an account is deactivated, reactivated or deleted.

The hot path and the lean JWT check (nexuscart.jwt_auth) read a Redis set of deactivated users
(nexuscart.active_users), never the user row. A single save of User.is_active reaches the set
through post_save; a bulk `QuerySet.update(is_active=...)` sends no signal, so bulk changes go
through `users_set_active`, which updates the rows and the set together.

A deleted account joins the same set (post_delete, sent for each row even by a QuerySet.delete()
such as the admin's): with no row to read, its live token would otherwise pass the lean check
and reach the views as a user who owns nothing (a checkout answered 400 unknown_address, a
flash-sale purchase was accepted). Ids are never reused, so its entry never refuses anyone else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.user.models import User
from nexuscart import active_users
from nexuscart import redis as nc_redis


@receiver(post_save, sender=User, dispatch_uid="nexuscart-hot-active-users")
def _on_user_saved(sender: Any, instance: User, update_fields: Any = None, created: bool = False, **_: Any) -> None:
    if update_fields is not None and "is_active" not in update_fields:
        return  # e.g. last_login on every sign-in: nothing the hot path needs
    if created and instance.is_active:
        return
    user_id, active = instance.pk, instance.is_active
    transaction.on_commit(lambda: active_users.mark_active(user_id, active))


@receiver(post_delete, sender=User, dispatch_uid="nexuscart-hot-deleted-users")
def _on_user_deleted(sender: Any, instance: User, **_: Any) -> None:
    user_id = instance.pk
    transaction.on_commit(lambda: active_users.mark_active(user_id, False))


def _mark_all(user_ids: list[int], active: bool) -> None:
    pipe = nc_redis.client().pipeline(transaction=False)
    for user_id in user_ids:
        active_users.mark_active(user_id, active, client=pipe)
    pipe.execute()


def users_set_active(*, user_ids: Iterable[int], active: bool) -> int:
    """Activate or deactivate accounts in bulk (the admin's actions, support tools): one UPDATE,
    then, after commit, every selected account recorded in the inactive-user set (one pipelined
    round trip). Returns how many accounts changed state.

    Accounts already in the wanted state are recorded too, so running it again repairs a set that
    missed a change (e.g. an earlier bulk update that bypassed it).
    """
    wanted = sorted({int(user_id) for user_id in user_ids})
    with transaction.atomic():
        found = list(User.objects.select_for_update().filter(pk__in=wanted).values_list("pk", flat=True))
        changed = User.objects.filter(pk__in=found).exclude(is_active=active).update(is_active=active)
        if found:
            transaction.on_commit(lambda: _mark_all(found, active))
    return changed
