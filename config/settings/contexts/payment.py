"""Settings owned by the payment context (read from the environment through config.settings.env)."""

from config.settings.env import env  # noqa: F401
