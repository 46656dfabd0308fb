"""Benchmark profile: the base settings plus the bench app (naive baselines and yardstick routes).

The only settings module that routes a benchmark path: scripts/bench/* run their servers with
DJANGO_SETTINGS_MODULE=config.settings.bench; config.settings.base, test and production never
install apps.bench, so no deployment can expose a baseline by flipping an environment variable.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import INSTALLED_APPS
from config.settings.env import env

INSTALLED_APPS = [*INSTALLED_APPS, "apps.bench"]
# apps.bench.urls serves every route of config.urls and the baselines in front of them.
ROOT_URLCONF = "apps.bench.urls"
# Load from one client address is the measurement, not an abuser: no general API limit unless a
# run asks for it (API_RATE_LIMIT=... measures the limiter's own cost).
API_RATE_LIMIT = env("API_RATE_LIMIT", default="")
