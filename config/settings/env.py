"""The one environment reader every settings module uses (twelve-factor, see docs/architecture.md, "Configuration")."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
