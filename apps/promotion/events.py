"""Events the promotion context publishes (frozen dataclasses, versioned; see nexuscart.events).

The aggregate is the flash-sale campaign: every event of one campaign travels on one Kafka
partition in commit order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from nexuscart.events import DomainEvent

#: `FlashSaleChanged.status` of a campaign staff deleted (not one of a campaign's own statuses).
DELETED = "deleted"


@dataclass(frozen=True)
class FlashSaleChanged(DomainEvent):
    """What a shopper sees of a flash sale may have changed: the campaign was created, edited or
    deleted, or its status moved (scheduled -> live <-> sold_out -> ended). The product page's sale
    note is built from it, and the clock alone never announces anything: the beat's tick does.

    `status` is the campaign's status after the change (promotion.models.CampaignStatus values), or
    DELETED.
    """

    event_type: ClassVar[str] = "promotion.FlashSaleChanged"
    aggregate_type: ClassVar[str] = "flash_sale"
    campaign_id: int
    sku: str
    status: str

    def aggregate_id(self) -> str:
        return str(self.campaign_id)
