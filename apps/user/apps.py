from django.apps import AppConfig


class UserConfig(AppConfig):
    name = "apps.user"
    label = "user"

    def ready(self) -> None:
        from apps.user import lockout  # noqa: F401  (connects the failed-login receiver)
        from nexuscart import jwt_keys

        jwt_keys.install()
