from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.catalog import selectors as catalog_selectors
from apps.catalog import services as catalog_services
from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.promotion import services
from nexuscart.errors import ApplicationError

DEMO_SKU = "FLASH-DEMO-01"


class Command(BaseCommand):
    help = "Create a demo flash sale that starts a few minutes from now (for scripts/run), and warm it up."

    def add_arguments(self, parser):
        parser.add_argument("--starts-in", type=int, default=180, help="Seconds from now (default 180).")
        parser.add_argument("--minutes", type=int, default=30, help="How long it runs (default 30).")
        parser.add_argument("--quantity", type=int, default=50)
        parser.add_argument("--per-user-limit", type=int, default=2)
        parser.add_argument("--sku", help="Sell this SKU (default: the seeded SKU with most stock, else a demo one).")

    def handle(self, *args, **options):
        quantity = options["quantity"]
        sku = options["sku"] or self._pick_sku(quantity)
        snapshot = catalog_selectors.sku_get(sku=sku)
        if snapshot is None:
            raise CommandError(f"unknown SKU {sku}")
        starts_at = timezone.now() + timedelta(seconds=options["starts_in"])
        try:
            campaign = services.flash_sale_campaign_create(
                sku=sku,
                price=max(1, snapshot.price // 2),
                quantity=quantity,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=options["minutes"]),
                per_user_limit=options["per_user_limit"],
                actor="flashsale_demo",
            )
            campaign = services.flash_sale_campaign_warmup(campaign_id=campaign.id)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(
            f"flash sale {campaign.id}: {quantity} x {campaign.name} ({sku}) at half price, "
            f"starts {campaign.starts_at:%H:%M:%S} UTC -> /flash-sales/{campaign.id}/"
        )

    def _pick_sku(self, quantity: int) -> str:
        candidates = [f"NC-{n:06d}-01" for n in range(1, 400)]
        known = catalog_selectors.skus_get(skus=candidates)
        active = [s for s, snap in known.items() if snap.is_active]
        available = inventory_selectors.availability_get_many(skus=active)
        best = max(available.items(), key=lambda item: item[1], default=(None, 0))
        if best[0] and best[1] >= quantity:
            return best[0]
        if catalog_selectors.sku_get(sku=DEMO_SKU) is None:
            category = catalog_services.category_create(name="Flash deals")
            catalog_services.product_create(
                name="Flash-sale demo headphones",
                category_id=category.pk,
                description="Noise-cancelling headphones, sold in the demo flash sale.",
                variants=[catalog_services.VariantInput(sku=DEMO_SKU, name="Black", price=19900)],
            )
        if (inventory_selectors.availability_get(sku=DEMO_SKU) or 0) < quantity:
            # On hand, not available: earlier demo sales still hold their allocations out of it.
            inventory_services.stock_bulk_set(levels={DEMO_SKU: 10_000}, reason="flash-sale demo stock")
        return DEMO_SKU
