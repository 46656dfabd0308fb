from django.apps import AppConfig


class OrderConfig(AppConfig):
    name = "apps.order"
    label = "order"

    def ready(self) -> None:
        from apps.order import admin_shipping, signals  # noqa: F401  (guest-cart merge on sign-in; rate tables' admin)
