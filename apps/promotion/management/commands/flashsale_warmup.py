from django.core.management.base import BaseCommand, CommandError

from apps.promotion import services
from nexuscart.errors import ApplicationError
from nexuscart.observability import progress


class Command(BaseCommand):
    help = "Load a flash sale's stock, per-user limit and live window into Redis (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("campaign_id", type=int)

    @progress.reporting("flashsale_warmup")  # progress lines on stderr
    def handle(self, *args, campaign_id: int, **options):
        try:
            campaign = services.flash_sale_campaign_warmup(campaign_id=campaign_id)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(
            f"campaign {campaign.id} ({campaign.sku}) warm: remaining {campaign.remaining}, "
            f"limit {campaign.per_user_limit}/user, {campaign.starts_at.isoformat()} -> {campaign.ends_at.isoformat()}"
        )
