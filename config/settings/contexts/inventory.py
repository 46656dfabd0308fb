"""Settings owned by the inventory context (read from the environment through config.settings.env)."""

from config.settings.env import env

# Seconds a hot-path process may serve an availability figure before asking Redis again.
INVENTORY_HOT_CACHE_TTL = env.float("INVENTORY_HOT_CACHE_TTL", default=0.5)
# A reservation nobody confirmed or released is swept after this long (kept longer than the
# order payment timeout, so the order sweep normally releases first and this is a safety net).
INVENTORY_RESERVATION_TTL_MINUTES = env.int("INVENTORY_RESERVATION_TTL_MINUTES", default=45)
INVENTORY_DEFAULT_LOW_STOCK_THRESHOLD = env.int("INVENTORY_DEFAULT_LOW_STOCK_THRESHOLD", default=5)
INVENTORY_DEFAULT_WAREHOUSE = env("INVENTORY_DEFAULT_WAREHOUSE", default="MAIN")

INVENTORY_BEAT_SCHEDULE = {
    "inventory-reservation-sweep": {"task": "apps.inventory.tasks.sweep_expired_reservations", "schedule": 60.0},
    "inventory-cache-refresh": {"task": "apps.inventory.tasks.refresh_availability_cache", "schedule": 300.0},
}
