"""Flash-sale campaigns: set-up (stock allocated from inventory), warm-up into Redis, the live/sold-out
tick, the end (unsold units back to inventory) and the give-back of a cancelled order's unit.

Every change a shopper can see of a sale (created, edited, deleted, its status moving) publishes
FlashSaleChanged in the same transaction: the catalog rebuilds the product page's sale note from
it, and the note's list of sales (storefront_sales) is re-read after that commit.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.catalog import selectors as catalog_selectors
from apps.inventory import services as inventory_services
from apps.promotion import flashsale
from apps.promotion.events import FlashSaleChanged
from apps.promotion.models import (
    CampaignStatus,
    FlashSaleCampaign,
    FlashSaleRelease,
)
from apps.promotion.selectors import CampaignSnapshot, campaign_get, campaign_list
from apps.promotion.services.recovery import flash_sale_state_rebuild
from nexuscart.errors import ApplicationError, Conflict, NotFound, Unprocessable
from nexuscart.outbox import publish
from nexuscart.redis_scripts import RedisScript

logger = logging.getLogger(__name__)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- the storefront's sale note ------------------------------------------------------------------------
# The live and upcoming sales as the product page's note reads them (templatetags.promotion), kept
# in the shared cache under a version that every FlashSaleChanged replaces after its commit. The
# version is read before the rows, so a list stored under a version is never older than it: a page
# rebuilt for the event (catalog's handler, after the commit) reads the list as committed, never one
# cached before. The TTL only bounds what the clock changes in the listed statuses between events.
_NOTE_VERSION_KEY = "storefront:flash-sales:version"
NOTE_LIST_SECONDS = 5


def storefront_sales() -> list[CampaignSnapshot]:
    """The live and scheduled sales (starts_at order), from the shared cache."""
    version = cache.get(_NOTE_VERSION_KEY)
    if version is None:
        cache.add(_NOTE_VERSION_KEY, time.time_ns(), None)
        version = cache.get(_NOTE_VERSION_KEY)
    key = f"storefront:flash-sales:{version}"
    campaigns = cache.get(key)
    if campaigns is None:
        live = (CampaignStatus.LIVE, CampaignStatus.SCHEDULED)
        campaigns = [c for c in campaign_list() if c.status in live]
        cache.set(key, campaigns, NOTE_LIST_SECONDS)
    return campaigns


def _note_list_bump() -> None:
    try:
        cache.set(_NOTE_VERSION_KEY, time.time_ns(), None)
    except Exception:  # Redis down: the list under the old version lives NOTE_LIST_SECONDS at most
        logger.warning("could not bump the storefront's flash-sale list version", exc_info=True)


def flash_sale_campaign_announce(*, campaign_id: int, sku: str, status: str) -> None:
    """In the caller's transaction: FlashSaleChanged, and the note's list re-read once it commits.

    For writes outside these services too (the admin's edit and delete). The list's bump runs in
    the committing thread right after the commit; the event reaches catalog's consumer later
    (relay, Kafka). Not guaranteed: a relay sweep may claim the row first, and a bump that fails
    (Redis down) leaves the list under the old version for NOTE_LIST_SECONDS, so a page rebuilt
    in that window keeps the older note until that product's next event.
    """
    transaction.on_commit(_note_list_bump)
    publish(FlashSaleChanged(campaign_id=campaign_id, sku=sku, status=status))


# --- flash sales ---------------------------------------------------------------------------------------
def flash_sale_campaign_create(
    *,
    sku: str,
    price: int,
    quantity: int,
    starts_at: datetime,
    ends_at: datetime,
    per_user_limit: int,
    actor: str,
) -> CampaignSnapshot:
    """Schedule a sale; its units leave general stock now (Conflict "insufficient_stock" otherwise)."""
    if ends_at <= starts_at:
        raise Unprocessable("The sale must end after it starts.", code="invalid_window")
    if ends_at <= timezone.now():
        raise Unprocessable("The sale would already be over.", code="invalid_window")
    if quantity <= 0 or per_user_limit <= 0 or price < 0:
        raise Unprocessable("Quantity and per-user limit must be positive, price not negative.", code="invalid_value")
    snapshot = catalog_selectors.sku_get(sku=sku)
    if snapshot is None:
        raise Unprocessable(f"Unknown SKU {sku!r}.", code="unknown_sku")
    name = snapshot.product_name + (f" - {snapshot.variant_name}" if snapshot.variant_name else "")
    with transaction.atomic():
        campaign = FlashSaleCampaign.objects.create(
            sku=sku,
            name=name[:300],
            price=price,
            currency=snapshot.currency,
            quantity=quantity,
            per_user_limit=per_user_limit,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=actor,
        )
        inventory_services.stock_allocate_for_campaign(sku=sku, quantity=quantity, campaign_id=campaign.pk, actor=actor)
        flash_sale_campaign_announce(campaign_id=campaign.pk, sku=sku, status=campaign.status)
    return campaign_get(campaign_id=campaign.pk)  # type: ignore[return-value]


def flash_sale_campaign_warmup(*, campaign_id: int) -> CampaignSnapshot:
    """Load stock, limit and window into Redis. Idempotent; the lock keeps two loaders apart.

    A campaign Redis lost after it was loaded is rebuilt from what PostgreSQL knows it sold and
    gave back (services.recovery), never reloaded with its full quantity and empty counters.
    """
    client = flashsale.sync_client()
    with flashsale.CampaignLock(client, campaign_id):
        campaign = FlashSaleCampaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise NotFound(f"No flash sale {campaign_id}.", code="not_found")
        if campaign.returned_quantity is not None or campaign.status == CampaignStatus.ENDED:
            raise Conflict("The sale is over; it cannot be loaded again.", code="campaign_ended")
        rebuilt = flash_sale_state_rebuild(campaign_id=campaign.pk, quantity=campaign.quantity)
        loaded = flashsale.warmup(
            client,
            rebuilt=rebuilt,
            campaign_id=campaign.pk,
            starts_ms=_ms(campaign.starts_at),
            ends_ms=_ms(campaign.ends_at),
            per_user_limit=campaign.per_user_limit,
            price=campaign.price,
            currency=campaign.currency,
            sku=campaign.sku,
            quantity=campaign.quantity,
        )
        if campaign.warmed_at is None or loaded:
            FlashSaleCampaign.objects.filter(pk=campaign.pk).update(warmed_at=timezone.now())
        if loaded and rebuilt.records:
            logger.warning(
                "flash sale rebuilt in Redis from PostgreSQL",
                extra={"campaign_id": campaign.pk, "stock": rebuilt.stock, "reservations": len(rebuilt.records)},
            )
        logger.info("flash sale warmed", extra={"campaign_id": campaign.pk, "loaded_stock": loaded})
    return campaign_get(campaign_id=campaign_id)  # type: ignore[return-value]


def flash_sale_campaign_finish(*, campaign_id: int) -> CampaignSnapshot:
    """After the end: take the unsold units off sale and give them back to inventory, once."""
    client = flashsale.sync_client()
    with transaction.atomic():
        campaign = FlashSaleCampaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise NotFound(f"No flash sale {campaign_id}.", code="not_found")
        if campaign.returned_quantity is None:
            left = flashsale.finish(client, campaign_id=campaign.pk)
            if left < 0:
                if campaign.warmed_at is not None:
                    # Loaded once but gone from Redis now: returning the full quantity could oversell.
                    raise Conflict(
                        "The campaign's Redis state is missing; run reconcile_flash_sale.", code="state_missing"
                    )
                left = campaign.quantity
            if left > 0:
                inventory_services.stock_return_from_campaign(
                    sku=campaign.sku, quantity=left, campaign_id=campaign.pk, actor="flash-sale-end"
                )
            campaign.returned_quantity = left
            campaign.status = CampaignStatus.ENDED
            campaign.save(update_fields=["returned_quantity", "status"])
            flash_sale_campaign_announce(campaign_id=campaign.pk, sku=campaign.sku, status=campaign.status)
    return campaign_get(campaign_id=campaign_id)  # type: ignore[return-value]


def flash_sale_tick(*, now: datetime | None = None) -> dict[str, int]:
    """Beat: warm up sales about to start, mark live/sold out, finish the ones that ended."""
    now = now or timezone.now()
    done = {"warmed": 0, "finished": 0}
    lead = timedelta(seconds=settings.FLASH_SALE_WARMUP_LEAD_SECONDS)
    due = FlashSaleCampaign.objects.filter(
        warmed_at__isnull=True, returned_quantity__isnull=True, starts_at__lte=now + lead, ends_at__gt=now
    )
    for campaign_id in due.values_list("id", flat=True):
        try:
            flash_sale_campaign_warmup(campaign_id=campaign_id)
            done["warmed"] += 1
        except (ApplicationError, flashsale.LockNotAcquired):
            logger.exception("flash sale warm-up failed", extra={"campaign_id": campaign_id})
    over = FlashSaleCampaign.objects.filter(returned_quantity__isnull=True, ends_at__lte=now)
    for campaign_id, sku in over.values_list("id", "sku"):
        try:
            flash_sale_campaign_finish(campaign_id=campaign_id)
            done["finished"] += 1
        except ApplicationError:
            logger.exception("flash sale finish failed", extra={"campaign_id": campaign_id})
            # Shoppers see it ended all the same (selectors.campaign_status): say so once, or its
            # product page would keep a "live" note. The status moves only here (the finish that
            # books the units back still runs every tick: `over` filters on returned_quantity).
            with transaction.atomic():
                moved = (
                    FlashSaleCampaign.objects.filter(pk=campaign_id)
                    .exclude(status=CampaignStatus.ENDED)
                    .update(status=CampaignStatus.ENDED)
                )
                if moved:
                    flash_sale_campaign_announce(campaign_id=campaign_id, sku=sku, status=CampaignStatus.ENDED)
    running = FlashSaleCampaign.objects.filter(
        returned_quantity__isnull=True, starts_at__lte=now, ends_at__gt=now
    ).exclude(status=CampaignStatus.ENDED)
    client = flashsale.sync_client()
    long_over = FlashSaleCampaign.objects.filter(returned_quantity__isnull=False, ends_at__lte=now - timedelta(days=2))
    flashsale.forget_loaded(client, list(long_over.values_list("id", flat=True)[:500]))
    for campaign in running:
        left = flashsale.remaining(client, campaign.pk)
        if left is None and campaign.warmed_at is not None:
            # Loaded once, gone now (Redis lost it): rebuild it from PostgreSQL, and say so.
            logger.warning("flash sale missing from Redis; re-warming", extra={"campaign_id": campaign.pk})
            try:
                flash_sale_campaign_warmup(campaign_id=campaign.pk)
                done["warmed"] += 1
            except (ApplicationError, flashsale.LockNotAcquired):
                logger.exception("flash sale re-warm failed", extra={"campaign_id": campaign.pk})
            left = flashsale.remaining(client, campaign.pk)
        status = CampaignStatus.SOLD_OUT if left is not None and left <= 0 else CampaignStatus.LIVE
        if campaign.status != status:
            with transaction.atomic():
                # From the status read above only: a concurrent tick's move is announced once.
                moved = FlashSaleCampaign.objects.filter(pk=campaign.pk, status=campaign.status).update(status=status)
                if moved:
                    flash_sale_campaign_announce(campaign_id=campaign.pk, sku=campaign.sku, status=status)
    return done


# After the end, a released unit goes back to inventory, not to the finished sale's Redis stock
# (where nobody could buy it and finish would never count it): the give-back minus the INCRBY.
_RELEASE_AFTER_END = RedisScript(
    "release_after_end",
    """#!lua
-- KEYS: 1 users  2 reservations  3 released set;  ARGV: 1 reservation id  2 order id
-- Reply: units given back; 0 when already given back; -1 when the reservation is unknown here.
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then
    return 0
end
local rec = redis.call('HGET', KEYS[2], ARGV[1])
if not rec then
    return -1
end
local status, user, qty = string.match(rec, '^([^|]*)|([^|]*)|([^|]*)|')
qty = tonumber(qty)
redis.call('HINCRBY', KEYS[1], user, -qty)
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], 'cancelled|' .. user .. '|' .. qty .. '|' .. ARGV[2])
return qty
""",
)


def flash_sale_reservation_release(
    *, campaign_id: int, reservation_id: str, order_id: int | None, user_id: int, reason: str = "order cancelled"
) -> int:
    """Give a reservation's unit and the user's quota back, exactly once. Units given back.

    For a cancelled order (order_id) or a reservation that never became one (order_id None,
    dead-lettered). While the sale runs the unit goes back on sale; once it has ended (its unsold
    units returned), the unit goes back to inventory instead (returned_to_inventory), so it is
    neither stranded in the finished sale's Redis stock nor uncounted. Runs inside the caller's
    transaction (the consumer's inbox one); the campaign row lock orders it with the sale's end.
    The Redis script keeps its own marker per reservation, so a redelivery after a rollback here
    cannot give the unit back twice either. `reason` is what the reservation's status shows.
    """
    client = flashsale.sync_client()
    with transaction.atomic():
        campaign = FlashSaleCampaign.objects.select_for_update().filter(pk=campaign_id).first()
        ended = campaign is not None and campaign.returned_quantity is not None
        try:
            with transaction.atomic():
                release = FlashSaleRelease.objects.create(
                    campaign_id=campaign_id,
                    reservation_id=reservation_id,
                    order_id=order_id,
                    user_id=user_id,
                    quantity=0,
                    reason=reason[:200],
                    returned_to_inventory=ended,
                )
        except IntegrityError:
            return 0
        keys = flashsale.Keys(campaign_id)
        if ended:
            given = int(
                _RELEASE_AFTER_END.run(
                    client, keys=[keys.users, keys.reservations, keys.released], args=[reservation_id, order_id or ""]
                )
            )
        else:
            given = flashsale.release(
                client, campaign_id=campaign_id, reservation_id=reservation_id, order_id=order_id or ""
            )
        if given < 0:
            logger.error(
                "flash-sale reservation to give back is not in Redis",
                extra={"campaign_id": campaign_id, "reservation_id": reservation_id, "order_id": order_id},
            )
            release.delete()
            return 0
        if given == 0:
            # Redis gave it back in an earlier try whose transaction rolled back: its record says how much.
            record = flashsale.reservation_record(client, campaign_id, reservation_id)
            given = record.quantity if record else 0
        if ended and given:
            inventory_services.stock_return_campaign_units(
                campaign_id=campaign_id,
                sku=campaign.sku,
                quantity=given,
                reference=f"flash-sale-release:{reservation_id}",
                actor="flash-sale-release",
            )
        client.hset(keys.reasons, reservation_id, reason[:200])
        release.quantity = given
        release.save(update_fields=["quantity"])
        return given
