"""Flash-sale stock: units held for a campaign (a reservation without expiry), sold from it, and
the unsold rest returned once when the sale ends."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.inventory.models import CampaignAllocation, LedgerEntry, Reservation, ReservationLine, Stock
from apps.inventory.services.levels import ledger_entry, stock_changed
from apps.inventory.services.reservations import reserve_sku
from nexuscart.errors import Conflict, NotFound, Unprocessable


def _campaign_reference(campaign_id: int, sku: str) -> str:
    return f"campaign:{campaign_id}:{sku}"


@transaction.atomic
def stock_allocate_for_campaign(*, sku: str, quantity: int, campaign_id: int, actor: str) -> None:
    """Hold `quantity` units for a flash sale (a reservation without expiry), or Conflict(insufficient_stock)."""
    if not isinstance(quantity, int) or quantity <= 0:
        raise Unprocessable("quantity must be a positive integer.", code="invalid_quantity")
    allocation, _ = CampaignAllocation.objects.select_for_update().get_or_create(campaign_id=campaign_id, sku=sku)
    if allocation.returned_at is not None:
        raise Conflict(f"Campaign {campaign_id} already returned its {sku} stock.", code="campaign_closed")
    reservation, _ = Reservation.objects.get_or_create(
        reference=_campaign_reference(campaign_id, sku), defaults={"expires_at": None, "actor": actor[:200]}
    )
    reserve_sku(
        reservation,
        sku=sku,
        quantity=quantity,
        actor=actor,
        reason=f"flash sale {campaign_id}",
        kind=LedgerEntry.Kind.CAMPAIGN_ALLOCATE,
    )
    CampaignAllocation.objects.filter(id=allocation.id).update(allocated=F("allocated") + quantity)
    stock_changed([sku], kind=LedgerEntry.Kind.CAMPAIGN_ALLOCATE, reference=reservation.reference)


def _take_from_campaign(
    campaign_id: int, sku: str, quantity: int, *, ship: bool, actor: str, reason: str, reference: str, kind: str
) -> int:
    """Shrink the campaign's reservation lines by up to `quantity`; returns how many units were taken."""
    lines = list(
        ReservationLine.objects.select_for_update()
        .filter(reservation__reference=_campaign_reference(campaign_id, sku), quantity__gt=0)
        .order_by("stock_id")
    )
    left, entries = quantity, []
    for line in lines:
        take = min(left, line.quantity)
        if take <= 0:
            break
        ReservationLine.objects.filter(id=line.id).update(quantity=F("quantity") - take)
        changes = {"reserved": F("reserved") - take}
        if ship:
            changes["on_hand"] = F("on_hand") - take
        Stock.objects.filter(id=line.stock_id).update(**changes)
        entries.append(
            ledger_entry(
                line,
                warehouse_code=line.warehouse_code,
                kind=kind,
                d_on_hand=-take if ship else 0,
                d_reserved=-take,
                actor=actor,
                reason=reason,
                reference=reference,
            )
        )
        left -= take
    LedgerEntry.objects.bulk_create(entries)
    return quantity - left


@transaction.atomic
def stock_return_from_campaign(*, sku: str, quantity: int, campaign_id: int, actor: str) -> None:
    """Give unsold flash-sale units back to general availability, once per campaign (later calls do nothing)."""
    allocation = CampaignAllocation.objects.select_for_update().filter(campaign_id=campaign_id, sku=sku).first()
    if allocation is None:
        raise NotFound(f"Campaign {campaign_id} holds no {sku} stock.", code="allocation_not_found")
    if allocation.returned_at is not None:
        return
    returned = _take_from_campaign(
        campaign_id,
        sku,
        max(0, quantity),
        ship=False,
        actor=actor,
        reason=f"flash sale {campaign_id} ended",
        reference=_campaign_reference(campaign_id, sku),
        kind=LedgerEntry.Kind.CAMPAIGN_RETURN,
    )
    CampaignAllocation.objects.filter(id=allocation.id).update(returned=returned, returned_at=timezone.now())
    stock_changed([sku], kind=LedgerEntry.Kind.CAMPAIGN_RETURN)


@transaction.atomic
def stock_confirm_campaign_units(*, campaign_id: int, sku: str, quantity: int, reference: str, actor: str) -> int:
    """A paid flash-sale order: its units leave the campaign's hold and the building. Returns units confirmed."""
    if LedgerEntry.objects.filter(reference=reference, kind=LedgerEntry.Kind.CONFIRM, sku=sku).exists():
        return 0
    taken = _take_from_campaign(
        campaign_id,
        sku,
        quantity,
        ship=True,
        actor=actor,
        reason="flash-sale order paid",
        reference=reference,
        kind=LedgerEntry.Kind.CONFIRM,
    )
    CampaignAllocation.objects.filter(campaign_id=campaign_id, sku=sku).update(sold=F("sold") + taken)
    stock_changed([sku], kind=LedgerEntry.Kind.CONFIRM, reference=reference)
    return taken


@transaction.atomic
def stock_return_campaign_units(*, campaign_id: int, sku: str, quantity: int, reference: str, actor: str) -> int:
    """Units of a finished sale given back after its end (an order cancelled late): back to general
    stock, not to the sale. Once per reference (later calls return 0). Returns units returned."""
    if LedgerEntry.objects.filter(reference=reference, kind=LedgerEntry.Kind.CAMPAIGN_RETURN, sku=sku).exists():
        return 0
    returned = _take_from_campaign(
        campaign_id,
        sku,
        max(0, quantity),
        ship=False,
        actor=actor,
        reason=f"flash sale {campaign_id}: given back after its end",
        reference=reference,
        kind=LedgerEntry.Kind.CAMPAIGN_RETURN,
    )
    if returned:
        CampaignAllocation.objects.filter(campaign_id=campaign_id, sku=sku).update(returned=F("returned") + returned)
        stock_changed([sku], kind=LedgerEntry.Kind.CAMPAIGN_RETURN, reference=reference)
    return returned
