"""ASGI entry point: the thin hot-path router (flash sales, inventory reads) in front of Django.

One process serves both: paths registered in an app's `hot.py` never enter Django's request
handler; everything else does. See nexuscart.hotpath.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

django_application = get_asgi_application()

from nexuscart.hotpath import HotRouter, discover_routes  # noqa: E402  (needs Django set up)
from nexuscart.observability import tracing  # noqa: E402

# Inside OpenTelemetry's ASGI middleware when tracing is on (the hot routes never reach Django's).
application = tracing.wrap_asgi(HotRouter(routes=discover_routes(), fallback=django_application))
