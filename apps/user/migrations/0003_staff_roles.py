"""Staff roles (issue 13 #3): the groups "support", "merchandiser", "warehouse", "finance" (apps/user/roles.py).

Permissions are created here first (Django creates them only after all migrations ran), so this
migration depends on the models whose permissions it grants. Reversible: the groups are removed.
"""

from django.db import migrations

ROLE_NAMES = ("support", "merchandiser", "warehouse", "finance")


def create_roles(apps, schema_editor):
    from apps.user.roles import ensure_roles

    ensure_roles(apps, reset=True)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("user", "0002_address"),
        ("catalog", "0001_initial"),
        ("inventory", "0002_known_sku"),
        ("order", "0002_partitioned_order_tables"),
        ("payment", "0004_payment_request_key"),
        ("promotion", "0004_flash_sale_sold"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
