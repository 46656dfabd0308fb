"""Prepare the checkout benchmark database: schema, SKUs with deep stock, shoppers with addresses.

Run by scripts/bench/checkout (environment already points at the bench database and Redis db).
Writes a Lua data file with one (access token, address id) per shopper and the SKU list.
"""

from __future__ import annotations

import os
import sys
import uuid

import django
import psycopg

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")


def ensure_database(url: str) -> None:
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def main(out_path: str, shoppers: int, skus: int) -> None:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.catalog import services as catalog_services
    from apps.inventory import services as inventory_services
    from apps.user import services as user_services

    call_command("migrate", verbosity=0, interactive=False)
    run = uuid.uuid4().hex[:6]
    category = catalog_services.category_create(name=f"Bench {run}")
    sku_codes = [f"BENCH-{run}-{n:04d}" for n in range(skus)]
    for sku in sku_codes:
        catalog_services.product_create(
            name=f"Bench item {sku}",
            category_id=category.id,
            variants=[catalog_services.VariantInput(sku=sku, name="Std", price=1234)],
        )
    inventory_services.stock_bulk_set(levels=dict.fromkeys(sku_codes, 5_000_000), reason="benchmark stock")
    user_model = get_user_model()
    shoppers_made = [user_model(email=f"bench-{run}-{n}@example.com") for n in range(shoppers)]
    for user in shoppers_made:
        user.set_unusable_password()  # they only ever use the access tokens written below
    users = user_model.objects.bulk_create(shoppers_made)
    rows = []
    for user in users:
        address = user_services.address_create(
            user_id=user.id, name="Bench", line1="1 Main St", city="Springfield", state="IL", postal_code="62701"
        )
        rows.append((str(AccessToken.for_user(user)), address.id))
    with open(out_path, "w") as out:
        out.write("return {\n  shoppers = {\n")
        out.writelines(f'    {{"{token}", {address_id}}},\n' for token, address_id in rows)
        out.write("  },\n  skus = {\n")
        out.writelines(f'    "{sku}",\n' for sku in sku_codes)
        out.write("  },\n}\n")
    print(f"[setup] {shoppers} shoppers, {skus} SKUs (run {run})")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
