"""Staff roles (issue 13 #3): Django groups holding model permissions.

Every staff API (nexuscart.permissions.staff_permission) and every admin action checks these
permissions; being staff alone grants nothing, a superuser holds everything.

    support       reads orders, payments, customers, the catalogue and stock; resolves payment flags
    merchandiser  catalogue, coupons, discounts and flash sales
    warehouse     stock (adjustments, warehouses, reservations), ships and completes orders
    finance       payments and refunds, payment flags

The groups are created by migration 0003_staff_roles and again after every `migrate` / `flush`
when missing (post_migrate, e.g. after a test database is flushed); an existing group is left as
an administrator edited it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions

ROLES = {
    "support": [
        "order.view_order", "order.view_orderline", "order.view_ordertransition",
        "payment.view_payment", "payment.view_refund", "payment.view_paymentflag", "payment.change_paymentflag",
        "user.view_user", "user.view_address",
        "catalog.view_product", "catalog.view_variant", "catalog.view_category",
        "inventory.view_stock", "inventory.view_reservation",
        "promotion.view_coupon", "promotion.view_flashsalecampaign",
    ],
    "merchandiser": [
        "catalog.view_category", "catalog.add_category", "catalog.change_category",
        "catalog.view_product", "catalog.add_product", "catalog.change_product",
        "catalog.view_variant", "catalog.add_variant", "catalog.change_variant",
        "promotion.view_coupon", "promotion.add_coupon", "promotion.change_coupon",
        "promotion.view_discountcampaign", "promotion.add_discountcampaign", "promotion.change_discountcampaign",
        "promotion.view_flashsalecampaign", "promotion.add_flashsalecampaign",
        "promotion.change_flashsalecampaign",
        "inventory.view_stock",
    ],
    "warehouse": [
        "inventory.view_stock", "inventory.change_stock",
        "inventory.view_warehouse", "inventory.add_warehouse", "inventory.change_warehouse",
        "inventory.view_ledgerentry", "inventory.view_reservation", "inventory.view_skupolicy",
        "inventory.change_skupolicy",
        "order.view_order", "order.change_order", "order.view_orderline",
        "catalog.view_product", "catalog.view_variant",
    ],
    "finance": [
        "payment.view_payment", "payment.view_refund", "payment.add_refund",
        "payment.view_paymentflag", "payment.change_paymentflag", "payment.view_providerevent",
        "order.view_order", "order.view_orderline", "order.view_ordertransition",
        "promotion.view_coupon",
    ],
}  # fmt: skip


def ensure_roles(apps: Any, *, reset: bool = False) -> None:
    """Create the missing role groups with their permissions (`reset`: also re-grant existing ones)."""
    for app_config in apps.get_app_configs():
        # create_permissions skips an app whose models module is unset (historical app registries).
        had_models = getattr(app_config, "models_module", None)
        app_config.models_module = had_models or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = had_models
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, created = Group.objects.get_or_create(name=name)
        if not (created or reset):
            continue
        found = []
        for perm in perms:
            app_label, codename = perm.split(".")
            found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(found)


def on_post_migrate(sender: Any, apps: Any = None, **kwargs: Any) -> None:
    from django.apps import apps as global_apps

    ensure_roles(apps or global_apps)
