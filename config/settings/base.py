"""Settings shared by every profile, read from the environment (twelve-factor).

The defaults work against the services that `scripts/services start` runs on 127.0.0.1,
so a fresh clone needs no configuration. Production (config.settings.production) fails fast
when a secret is missing instead of falling back to these defaults.
"""

from datetime import timedelta

from config.settings.env import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="insecure-local-only-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
# Absolute links in e-mails (order mails). Their sender, DEFAULT_FROM_EMAIL, is set once, in
# config/settings/contexts/user.py (imported below, so a second default here never took effect).
SITE_URL = env("SITE_URL", default="http://localhost:8000")
PORT = env.int("PORT", default=8000)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "treebeard",
    "django_opensearch_dsl",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",  # TOTP for staff; required for the admin in production (apps.user.mfa)
    "allauth.socialaccount.providers.openid_connect",
    "nexuscart",
    "apps.user",
    "apps.catalog",
    "apps.inventory",
    "apps.promotion",
    "apps.order",
    "apps.payment",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "nexuscart.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "apps.user.lockout.LoginLockoutMiddleware",
    "apps.user.mfa.AdminMfaMiddleware",
    # After authentication: the API limit is per user (Bearer token or session), else per address.
    "nexuscart.ratelimit.ApiRateLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://nexuscart:nexuscart@127.0.0.1:5433/nexuscart"),
}
# django-prometheus's backend plus a client-side read timeout (nexuscart/db/base.py).
DATABASES["default"]["ENGINE"] = "nexuscart.db"
# A stalled or unreachable PostgreSQL must fail a request (503), not hang it: connect timeout,
# server-side statement / idle-in-transaction timeouts, TCP keepalives and a user timeout (a dead
# peer or network), and READ_TIMEOUT for a server that holds the connection open but never
# answers. Options in DATABASE_URL's query string win. Behind PgBouncer (transaction pooling)
# `options` must be allowed (ignore_startup_parameters) or set on the server/role instead.
_statement_timeout_s = env.float("DB_STATEMENT_TIMEOUT", default=10.0)
DATABASES["default"]["OPTIONS"] = {
    "connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=3),
    "options": f"-c statement_timeout={int(_statement_timeout_s * 1000)}"
    f" -c idle_in_transaction_session_timeout={env.int('DB_IDLE_IN_TRANSACTION_TIMEOUT', default=60) * 1000}",
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
    **DATABASES["default"].get("OPTIONS", {}),
}
DATABASES["default"]["READ_TIMEOUT"] = (
    env.float("DB_READ_TIMEOUT", default=_statement_timeout_s + 2 if _statement_timeout_s else 0.0) or None
)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Under ASGI every request runs its sync part in a fresh thread, so persistent per-thread
# connections pile up: servers run with DB_POOL_SIZE (a psycopg pool per process) instead.
if _pool_size := env.int("DB_POOL_SIZE", default=0):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": _pool_size, "timeout": 10}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "user.User"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6380/0")
# Every Redis client (nexuscart/redis.py) gives up after these many seconds: a stalled Redis
# fails requests fast (503) instead of hanging them. The async timeout is the request path's.
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=1.0)
REDIS_TIMEOUT = env.float("REDIS_TIMEOUT", default=2.0)
REDIS_ASYNC_TIMEOUT = env.float("REDIS_ASYNC_TIMEOUT", default=1.0)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="nc"),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            # A per-process breaker per Redis server: a stalled Redis costs one timeout (nexuscart/redis.py).
            "CONNECTION_POOL_CLASS": "nexuscart.redis.GuardedConnectionPool",
            "SOCKET_CONNECT_TIMEOUT": REDIS_CONNECT_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_TIMEOUT,
        },
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTHENTICATION_BACKENDS = [
    # First: refuses every password check of a locked-out account or address (failures only).
    "apps.user.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".local" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "nexuscart.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "nexuscart.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": False,
}
# Access tokens are short-lived; refresh tokens rotate and a rotated one is blacklisted, so a
# reused refresh token is refused. The thin hot-path handlers verify the same tokens.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    # Its own key, never SECRET_KEY, with a key id; the previous key verifies during a rotation
    # (nexuscart/jwt_keys.py). Production refuses to start without JWT_SIGNING_KEY.
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default="insecure-local-only-jwt-key-change-me-0123456789abcdefghijkl"),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}
# /metrics needs `Authorization: Bearer <METRICS_TOKEN>` when set (production requires it).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Seconds a process reuses its readiness answer (nexuscart/health.py).
READYZ_CACHE_SECONDS = env.float("READYZ_CACHE_SECONDS", default=2.0)
# Every /api/ route, per client (user, else address), in Redis (nexuscart.ratelimit); empty: off.
API_RATE_LIMIT = env("API_RATE_LIMIT", default="100/s burst 200")
JWT_KEY_ID = env("JWT_KEY_ID", default="k1")
JWT_PREVIOUS_SIGNING_KEY = env("JWT_PREVIOUS_SIGNING_KEY", default="")
JWT_PREVIOUS_KEY_ID = env("JWT_PREVIOUS_KEY_ID", default="k0")
SPECTACULAR_SETTINGS = {
    "TITLE": "NexusCart API",
    "DESCRIPTION": "Storefront, orders, payments and flash sales. Errors are RFC 9457 problem+json.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Schema quality is checked by its own test (spectacular --validate --fail-on-warn), not
    # by `check --deploy`, which is about the deployment's settings.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    # Swagger UI from the installed sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The thin ASGI layer's routes are not in Django's URLconf: each HotRoute carries its operation.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "nexuscart.openapi.add_hot_routes",
    ],
}

# --- Events: outbox -> Kafka, inbox consumers ------------------------------------------------
KAFKA_BOOTSTRAP_SERVERS = env("KAFKA_BOOTSTRAP_SERVERS", default="127.0.0.1:9092")
# Prefix of every topic this deployment owns (tests use their own so runs never mix).
KAFKA_TOPIC_PREFIX = env("KAFKA_TOPIC_PREFIX", default="nexuscart")
# Rows per relay claim: one statement claims, one deletes the delivered queue rows; large batches
# amortise both (issue 10).
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=5000)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
OUTBOX_RETENTION_HOURS = env.int("OUTBOX_RETENTION_HOURS", default=24 * 7)
INBOX_RETENTION_HOURS = env.int("INBOX_RETENTION_HOURS", default=24 * 30)
CONSUMER_MAX_ATTEMPTS = env.int("CONSUMER_MAX_ATTEMPTS", default=3)
IDEMPOTENCY_RETENTION_HOURS = env.int("IDEMPOTENCY_RETENTION_HOURS", default=24)
# Seconds a duplicate request waits for the first one holding the same Idempotency-Key.
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=10.0)

# --- Search (empty = PostgreSQL full-text) ---------------------------------------------------
SEARCH_URL = env("SEARCH_URL", default="http://127.0.0.1:9200")
# urllib3 keeps one connection per host unless told otherwise: under threads (gunicorn gthread)
# every extra concurrent search opened and discarded a connection ("Connection pool is full").
SEARCH_POOL_SIZE = env.int("SEARCH_POOL_SIZE", default=32)
OPENSEARCH_DSL = {"default": {"hosts": SEARCH_URL, "pool_maxsize": SEARCH_POOL_SIZE}} if SEARCH_URL else {}

# --- Payments --------------------------------------------------------------------------------
STRIPE_API_KEY = env("STRIPE_API_KEY", default="sk_test_123")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="http://127.0.0.1:12111")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="whsec_local_test_secret")
PAYPAL_CLIENT_ID = env("PAYPAL_CLIENT_ID", default="")
PAYPAL_CLIENT_SECRET = env("PAYPAL_CLIENT_SECRET", default="")
PAYPAL_API_BASE = env("PAYPAL_API_BASE", default="https://api-m.sandbox.paypal.com")
PAYPAL_WEBHOOK_ID = env("PAYPAL_WEBHOOK_ID", default="")

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# kombu's Redis client has no timeout by default: with the broker stalled (connections up, no
# answers) a publish on the request path (the outbox nudge) hung until the edge gave up (504).
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_CONNECT_TIMEOUT}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ROUTES = {"nexuscart.tasks.relay_outbox": {"queue": "outbox"}}
CELERY_BEAT_SCHEDULE = {
    "outbox-relay-sweep": {"task": "nexuscart.tasks.relay_outbox", "schedule": 2.0},
    "outbox-prune": {"task": "nexuscart.tasks.prune_event_tables", "schedule": 3600.0},
    "idempotency-prune": {"task": "nexuscart.tasks.prune_idempotency_keys", "schedule": 3600.0},
}

# --- Logging: one JSON object per line, with the request id ----------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "nexuscart.observability.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "kafka": {"level": "WARNING"},
    },
}

# --- Security defaults that hold in every profile --------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Addresses (CIDRs) of our own proxies: only the X-Forwarded-For hops they add are believed,
# the client is the right-most hop outside them (nexuscart/client_ip.py). Empty: the socket peer.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Per-context settings: each bounded context owns its block in config/settings/contexts/ ---
from config.settings.contexts.catalog import *  # noqa: E402, F403
from config.settings.contexts.inventory import *  # noqa: E402, F403
from config.settings.contexts.order import *  # noqa: E402, F403
from config.settings.contexts.payment import *  # noqa: E402, F403
from config.settings.contexts.promotion import *  # noqa: E402, F403
from config.settings.contexts.user import *  # noqa: E402, F403

# A context may declare `<CONTEXT>_BEAT_SCHEDULE` in its settings file; merge them into beat's.
for _name, _schedule in list(globals().items()):
    if _name.endswith("_BEAT_SCHEDULE") and _name != "CELERY_BEAT_SCHEDULE":
        CELERY_BEAT_SCHEDULE.update(_schedule)

# Mail goes where EMAIL_URL says (e.g. smtp://127.0.0.1:1025), over the contexts' console default.
if env("EMAIL_URL", default="").strip():
    globals().update(env.email_url("EMAIL_URL"))
