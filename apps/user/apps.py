from django.apps import AppConfig


class UserConfig(AppConfig):
    name = "apps.user"
    label = "user"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from apps.user import active, lockout  # noqa: F401  (connect their receivers)
        from apps.user.mfa import install_admin_login
        from apps.user.roles import on_post_migrate
        from nexuscart import jwt_keys

        jwt_keys.install()
        install_admin_login()
        # Staff role groups come back after a flush (test databases) or on a fresh migrate.
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="nexuscart-staff-roles")
