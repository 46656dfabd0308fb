"""OpenAPI schema generation that understands our API style (HackSoft-style thin views).

Views nest `InputSerializer` / `OutputSerializer` classes instead of declaring
`serializer_class`; this AutoSchema reads them, names components after their view
(`ProductDetailApiOutput`, not a clashing `Output`) and gives every operation a unique id
derived from its view class, so plain APIViews document themselves without boilerplate.
`@extend_schema` on a view still wins.
"""

from __future__ import annotations

import re

from drf_spectacular import openapi
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class ActiveTokenScheme(SimpleJWTScheme):
    """The checkout's ActiveTokenAuthentication takes the same bearer tokens as simplejwt's, so
    its operations point at simplejwt's `jwtAuth` scheme instead of defining a second one (a
    second definition under the same name is a drf-spectacular warning, under another a scheme
    that clients would think differs). Registered on class creation; this module loads whenever
    a schema is generated."""

    target_class = "nexuscart.jwt_auth.ActiveTokenAuthentication"
    name: list[str] = []  # define nothing: the default JWTAuthentication defines `jwtAuth`

    def get_security_requirement(self, auto_schema):
        return {SimpleJWTScheme.name: []}

    def get_security_definition(self, auto_schema):
        return []


class AutoSchema(openapi.AutoSchema):
    def get_operation_id(self) -> str:
        view_name = _CAMEL.sub("_", type(self.view).__name__).lower()
        return f"{view_name}_{self.method.lower()}"

    def get_request_serializer(self):
        nested = getattr(self.view, "InputSerializer", None)
        if nested is not None and self.method in _BODY_METHODS:
            return nested
        return super().get_request_serializer()

    def get_response_serializers(self):
        nested = getattr(self.view, "OutputSerializer", None)
        if nested is not None:
            return nested
        return super().get_response_serializers()

    def _get_serializer(self):
        # A plain APIView with no serializer at all (e.g. a body-less POST): no schema, no warning.
        view = self.view
        if not hasattr(view, "get_serializer") and getattr(view, "serializer_class", None) is None:
            return None
        return super()._get_serializer()

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        outer, _, _ = cls.__qualname__.rpartition(".")
        if outer and "<locals>" not in outer and not name.startswith(outer):
            return outer.replace(".", "") + name
        return name


def add_hot_routes(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: the thin ASGI layer's routes (nexuscart.hotpath), which
    Django's URLconf never sees, documented from the `openapi` each HotRoute declares."""
    from nexuscart.hotpath import discover_routes

    paths = result.setdefault("paths", {})
    for route in discover_routes():
        if route.openapi is None:
            continue
        operation = dict(route.openapi)
        path = operation.pop("path")
        paths.setdefault(path, {})[route.method.lower()] = {"tags": ["v1"], **operation}
    result["paths"] = dict(sorted(paths.items()))
    return result
