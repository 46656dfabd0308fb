"""Events the user context publishes (frozen dataclasses, versioned; see nexuscart.events)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from nexuscart.events import DomainEvent


@dataclass(frozen=True)
class UserRegistered(DomainEvent):
    """A new account exists (API, storefront or social sign-up)."""

    event_type: ClassVar[str] = "user.UserRegistered"
    aggregate_type: ClassVar[str] = "user"
    user_id: int
    email: str

    def aggregate_id(self) -> str:
        return str(self.user_id)
