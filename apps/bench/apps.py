from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Only config.settings.bench lists this app; no other settings module routes a bench path."""

    name = "apps.bench"
    label = "bench"
    verbose_name = "Benchmark baselines"
