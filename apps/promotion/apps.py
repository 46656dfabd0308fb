from django.apps import AppConfig


class PromotionConfig(AppConfig):
    name = "apps.promotion"
    label = "promotion"

    def ready(self) -> None:
        # Campaign writes bump the live-campaign version in every process, whatever it imported.
        from apps.promotion.services import campaigns_live  # noqa: F401
