"""Shipping methods and US sales tax: the order keeps what it charged (shipping, tax, method).

order_order is unmanaged and hash-partitioned (0002): its columns are added by SQL on the parent
table (PostgreSQL adds them to every partition) while Django's state learns the fields.
The rate table is seeded with each state's base rate (staff update it in the admin).
"""

from decimal import Decimal

from django.db import migrations, models

from apps.order.shipping_defaults import METHODS, STATE_RATES


def seed(apps, schema_editor):
    ShippingMethod = apps.get_model("order", "ShippingMethod")
    SalesTaxRate = apps.get_model("order", "SalesTaxRate")
    for code, name, price, free_over, days, position in METHODS:
        ShippingMethod.objects.get_or_create(
            code=code,
            defaults={"name": name, "price": price, "free_over": free_over, "days": days, "position": position},
        )
    for state, rate in STATE_RATES.items():
        SalesTaxRate.objects.get_or_create(state=state, defaults={"rate": Decimal(rate)})


class Migration(migrations.Migration):
    dependencies = [("order", "0002_partitioned_order_tables")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField("order", "shipping", models.BigIntegerField(default=0)),
                migrations.AddField("order", "tax", models.BigIntegerField(default=0)),
                migrations.AddField(
                    "order", "shipping_method", models.CharField(blank=True, default="", max_length=32)
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE order_order ADD COLUMN shipping bigint NOT NULL DEFAULT 0, "
                    "ADD COLUMN tax bigint NOT NULL DEFAULT 0, "
                    "ADD COLUMN shipping_method varchar(32) NOT NULL DEFAULT ''",
                    "ALTER TABLE order_order DROP COLUMN shipping, DROP COLUMN tax, DROP COLUMN shipping_method",
                )
            ],
        ),
        migrations.CreateModel(
            name="ShippingMethod",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.SlugField(max_length=32, unique=True)),
                ("name", models.CharField(max_length=100)),
                ("price", models.BigIntegerField(help_text="Minor units (cents).")),
                (
                    "free_over",
                    models.BigIntegerField(
                        blank=True,
                        help_text="Free when the goods (after discounts) reach this amount, in cents.",
                        null=True,
                    ),
                ),
                (
                    "days",
                    models.CharField(
                        blank=True, help_text='Shown to shoppers, e.g. "3-5 business days".', max_length=40
                    ),
                ),
                ("is_active", models.BooleanField(default=True)),
                ("position", models.PositiveIntegerField(default=0)),
            ],
            options={
                "ordering": ("position", "price", "code"),
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("price__gte", 0)), name="shipping_price_not_negative")
                ],
            },
        ),
        migrations.CreateModel(
            name="SalesTaxRate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("state", models.CharField(max_length=2, unique=True)),
                (
                    "rate",
                    models.DecimalField(decimal_places=4, help_text="Percent, e.g. 7.2500 for 7.25 %.", max_digits=6),
                ),
            ],
            options={
                "ordering": ("state",),
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("rate__gte", 0), ("rate__lte", 25)), name="sales_tax_rate_in_range"
                    )
                ],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
