"""Settings owned by the catalog context (read from the environment through config.settings.env)."""

from config.settings.env import env

# Every OpenSearch index and alias of this deployment starts with this prefix; test sessions
# set their own so parallel runs never share an index.
SEARCH_INDEX_PREFIX = env("SEARCH_INDEX_PREFIX", default="nexuscart")
# The index follows the catalog through events (apps/catalog/handlers.py), never through model
# signals: a signal fires before commit and outside the outbox's ordering guarantees.
OPENSEARCH_DSL_AUTOSYNC = False
OPENSEARCH_DSL_AUTO_REFRESH = False
# Seconds that rendered storefront fragments (category menu, featured products) stay cached.
CATALOG_FRAGMENT_CACHE_SECONDS = env.int("CATALOG_FRAGMENT_CACHE_SECONDS", default=60)
CATALOG_PAGE_SIZE = env.int("CATALOG_PAGE_SIZE", default=24)
# Read models served from cache (apps/catalog/readcache.py): in-process L1 over Redis L2, keyed by
# versions that events bump. A process re-reads a version from Redis at most this often, which is
# what a bump costs in staleness on top of the event's trip (outbox -> Kafka -> consumer).
CATALOG_VERSION_RECHECK_SECONDS = env.float("CATALOG_VERSION_RECHECK_SECONDS", default=0.1)
CATALOG_L1_SECONDS = env.int("CATALOG_L1_SECONDS", default=30)
CATALOG_L1_MAXSIZE = env.int("CATALOG_L1_MAXSIZE", default=4096)
CATALOG_L2_SECONDS = env.int("CATALOG_L2_SECONDS", default=600)
# Search results for identical normalized queries (also keyed by the catalog version).
CATALOG_SEARCH_CACHE_SECONDS = env.int("CATALOG_SEARCH_CACHE_SECONDS", default=30)
# Off: every read is built from PostgreSQL / OpenSearch as if nothing were cached (to rule the cache
# out when diagnosing, and the uncached baseline of scripts/bench/browse). Same code path otherwise.
CATALOG_READ_CACHE = env.bool("CATALOG_READ_CACHE", default=True)
# Index writes happen after the handler's commit; one that failed then is retried by this sweep.
CATALOG_BEAT_SCHEDULE = {
    "catalog-search-index-sweep": {"task": "apps.catalog.tasks.search_index_sweep", "schedule": 30.0},
}
