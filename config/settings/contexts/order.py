"""Settings owned by the order context (read from the environment through config.settings.env)."""

from config.settings.env import env

# Unpaid orders older than this are cancelled by the beat sweep and their stock released.
ORDER_PAYMENT_TIMEOUT_MINUTES = env.int("ORDER_PAYMENT_TIMEOUT_MINUTES", default=30)
ORDER_MAX_LINE_QUANTITY = env.int("ORDER_MAX_LINE_QUANTITY", default=100)
ORDER_MAX_LINES = env.int("ORDER_MAX_LINES", default=50)
ORDER_PAGE_SIZE = env.int("ORDER_PAGE_SIZE", default=20)

ORDER_BEAT_SCHEDULE = {
    "order-payment-timeout-sweep": {"task": "apps.order.tasks.cancel_unpaid_orders", "schedule": 60.0},
}
