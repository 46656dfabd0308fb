"""Celery tasks of the catalog context (beat entries: CATALOG_BEAT_SCHEDULE in config/settings/contexts/catalog.py)."""

from celery import shared_task

from apps.catalog import indexing, readcache


@shared_task
def search_index_sweep() -> int:
    """Write read-model rows the index is behind on (an index write that failed after its commit)."""
    if not indexing.search_enabled():
        return 0
    slugs = indexing.index_pending()
    if slugs:
        # Searches cached meanwhile were built from the old documents.
        readcache.bump_now([readcache.CATALOG, *(readcache.product_scope(s) for s in slugs)])
    return len(slugs)
