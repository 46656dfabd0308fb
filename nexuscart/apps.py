from django.apps import AppConfig


class NexuscartConfig(AppConfig):
    name = "nexuscart"
    verbose_name = "Platform (events, idempotency)"

    def ready(self) -> None:
        from nexuscart import consumers

        consumers.autodiscover()
