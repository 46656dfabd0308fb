"""Settings owned by the promotion context (read from the environment through config.settings.env)."""

from config.settings.env import env

# Flash-sale state lives in this Redis (default: REDIS_URL). With FLASH_SALE_REDIS_CLUSTER the
# sync side (services, worker, commands) speaks Redis Cluster; every key of a campaign shares a
# hash tag, so the Lua scripts run there unchanged.
FLASH_SALE_REDIS_URL = env("FLASH_SALE_REDIS_URL", default="")
FLASH_SALE_REDIS_CLUSTER = env.bool("FLASH_SALE_REDIS_CLUSTER", default=False)

# Purchase tokens: short-lived and single-use; the anti-bot gate in front of the purchase script.
FLASH_SALE_TOKEN_TTL_SECONDS = env.int("FLASH_SALE_TOKEN_TTL_SECONDS", default=60)
# Token buckets (rate per second, burst): tokens per user per campaign, tokens per client IP
# (all sales), and purchases per user per campaign. The IP bucket is generous because many
# shoppers may share one address (mobile carriers, offices).
FLASH_SALE_TOKEN_USER_RATE = env.float("FLASH_SALE_TOKEN_USER_RATE", default=1.0)
FLASH_SALE_TOKEN_USER_BURST = env.int("FLASH_SALE_TOKEN_USER_BURST", default=10)
FLASH_SALE_TOKEN_IP_RATE = env.float("FLASH_SALE_TOKEN_IP_RATE", default=50.0)
FLASH_SALE_TOKEN_IP_BURST = env.int("FLASH_SALE_TOKEN_IP_BURST", default=200)
FLASH_SALE_PURCHASE_USER_RATE = env.float("FLASH_SALE_PURCHASE_USER_RATE", default=2.0)
FLASH_SALE_PURCHASE_USER_BURST = env.int("FLASH_SALE_PURCHASE_USER_BURST", default=10)

# Warm-up: beat loads a campaign this many seconds before it starts.
FLASH_SALE_WARMUP_LEAD_SECONDS = env.int("FLASH_SALE_WARMUP_LEAD_SECONDS", default=600)
# Worker: stream entries a dead worker left unacknowledged this long are claimed by another.
FLASH_SALE_CLAIM_IDLE_MS = env.int("FLASH_SALE_CLAIM_IDLE_MS", default=30_000)
# Reservations per XREADGROUP, written as orders in one transaction (the batch order writer).
FLASH_SALE_WORKER_BATCH = env.int("FLASH_SALE_WORKER_BATCH", default=500)
# Batch writers per flashsale_worker process (threads, one connection each): while one waits on
# PostgreSQL another reads, builds or acknowledges its batch (scripts/bench/flash_sale's drain,
# load ~6: 2 writers 4,962/s vs 1 writer 3,769/s at load ~7).
FLASH_SALE_WORKER_WRITERS = env.int("FLASH_SALE_WORKER_WRITERS", default=2)
# A reservation whose order keeps failing on its data is dead-lettered after this many deliveries
# (unit and quota back on sale, status cancelled / order_failed); dependency outages do not count.
FLASH_SALE_MAX_DELIVERIES = env.int("FLASH_SALE_MAX_DELIVERIES", default=5)

# Automatic discount campaigns kept per process (apps/promotion/services/campaigns_live.py): the
# Redis version is re-read at most this often, the rows at least this often whatever it says.
PROMOTION_CAMPAIGN_CACHE = env.bool("PROMOTION_CAMPAIGN_CACHE", default=True)
PROMOTION_CAMPAIGN_RECHECK_SECONDS = env.float("PROMOTION_CAMPAIGN_RECHECK_SECONDS", default=1.0)
PROMOTION_CAMPAIGN_CACHE_SECONDS = env.float("PROMOTION_CAMPAIGN_CACHE_SECONDS", default=60.0)

PROMOTION_BEAT_SCHEDULE = {
    "flash-sale-tick": {"task": "apps.promotion.tasks.flash_sale_tick", "schedule": 5.0},
}
