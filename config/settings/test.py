"""Test profile: the real local services, isolated per pytest-xdist worker.

Each worker gets its own Redis database and the whole run its own Kafka topic prefix, so
parallel workers and earlier runs never see each other's keys or events.
"""

import os
import uuid

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, REDIS_URL
from config.settings.env import env

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_worker_index = int(_worker[2:] or 0) if _worker.startswith("gw") else 0

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Several checkouts of the project may test at once on one machine: each picks its own
# database name and Redis range (scripts/services runs Redis with 64 databases).
_redis_base = env.int("TEST_REDIS_DB_BASE", default=1)
REDIS_URL = env("TEST_REDIS_URL", default=REDIS_URL.rsplit("/", 1)[0] + f"/{_redis_base + _worker_index % 8}")
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_nexuscart")}
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"test-{_worker}",
        # Timeouts and the per-server breaker of nexuscart/redis.py, as in base.py.
        "OPTIONS": {"CONNECTION_POOL_CLASS": "nexuscart.redis.GuardedConnectionPool"},
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = False
# One prefix per test session, shared by the xdist workers of that session.
KAFKA_TOPIC_PREFIX = os.environ.setdefault("NEXUSCART_TEST_TOPIC_PREFIX", f"test-{uuid.uuid4().hex[:10]}")
# The general API limit stays on in tests, loose enough for the concurrency tests' bursts from
# one address; tests of the limit itself set their own (nexuscart/tests/test_api_rate_limit.py).
API_RATE_LIMIT = env("API_RATE_LIMIT", default="2000/s burst 5000")
# Tests empty their Redis database between tests: an in-process copy of a catalog read-model
# version must not outlive that (apps/catalog/readcache.py), so every read asks Redis. The
# freshness tests set the production interval themselves.
CATALOG_VERSION_RECHECK_SECONDS = 0.0
# The same for the discount campaigns' version (apps/promotion/services/campaigns_live.py).
PROMOTION_CAMPAIGN_RECHECK_SECONDS = 0.0
