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
