from django.core.management.base import BaseCommand, CommandError

from apps.catalog import indexing
from nexuscart.observability import progress


class Command(BaseCommand):
    help = (
        "Rebuild the product search: --rebuild builds a new versioned OpenSearch index and swaps the alias "
        "atomically (searches keep answering); --read-model rewrites only the PostgreSQL read model."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--rebuild", action="store_true")
        group.add_argument("--read-model", action="store_true")
        parser.add_argument("--batch-size", type=int, default=1000)

    @progress.reporting("search_index")  # progress lines on stderr
    def handle(self, *args, rebuild: bool, read_model: bool, batch_size: int, **options):
        if read_model or not indexing.search_enabled():
            n = indexing.search_read_model_rebuild(batch_size=batch_size)
            self.stdout.write(f"search_index: PostgreSQL read model rewritten for {n} products")
            if read_model:
                return
            self.stdout.write("search_index: SEARCH_URL is empty, so there is no OpenSearch index to build")
            return
        try:
            result = indexing.search_index_rebuild(batch_size=batch_size)
        except Exception as exc:
            raise CommandError(f"rebuild failed, the old index keeps serving: {exc}") from exc
        self.stdout.write(
            f"search_index: {result.documents} products in {result.index} ({result.seconds:.1f}s); "
            f"alias swapped; removed {result.removed or 'nothing'}"
        )
