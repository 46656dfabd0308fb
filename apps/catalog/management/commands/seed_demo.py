from django.core.management.base import BaseCommand, CommandError

from apps.catalog.demo.seed import AlreadySeeded, demo_catalog_seed
from nexuscart.observability import progress


class Command(BaseCommand):
    help = "Load a deterministic demo catalog (categories, products, variants, stock) and build the search index."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=2000, help="How many products (default 2000).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed: the same seed gives the same shop.")
        parser.add_argument("--no-stock", action="store_true", help="Leave inventory alone.")

    @progress.reporting("seed_demo")  # progress lines on stderr
    def handle(self, *args, products: int, seed: int, no_stock: bool, **options):
        if not 1 <= products <= 200_000:
            raise CommandError("--products must be between 1 and 200000")
        try:
            report = demo_catalog_seed(products=products, seed=seed, stock=not no_stock)
        except AlreadySeeded as exc:
            self.stdout.write(f"seed_demo: nothing to do, {exc} (it only seeds an empty catalog).")
            return
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items())
        self.stdout.write(
            f"seed_demo: {report.categories} categories, {report.products} products, {report.variants} variants "
            f"({steps})"
        )
