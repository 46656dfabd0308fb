from django.apps import AppConfig


class OrderConfig(AppConfig):
    name = "apps.order"
    label = "order"

    def ready(self) -> None:
        from apps.order import signals  # noqa: F401  (connects the guest-cart merge on sign-in)
