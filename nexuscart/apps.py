from django.apps import AppConfig


class NexuscartConfig(AppConfig):
    name = "nexuscart"
    verbose_name = "Platform (events, idempotency)"

    def ready(self) -> None:
        from nexuscart import consumers
        from nexuscart.observability import tracing

        consumers.autodiscover()
        tracing.configure()  # OpenTelemetry, when the OTEL_* variables ask for it
