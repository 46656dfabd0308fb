"""A tiny context used only by the kernel tests: one event type, one handler effect, two views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from django.db import OperationalError, connection, transaction
from django.urls import include, path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from nexuscart import snowflake
from nexuscart.consumers import event_handler
from nexuscart.errors import Conflict
from nexuscart.events import DomainEvent, Envelope
from nexuscart.idempotency import idempotent
from nexuscart.outbox import publish

GROUP = "kerneltest"
EFFECTS_TABLE = "kernel_test_effect"


@dataclass(frozen=True)
class PingHappened(DomainEvent):
    event_type: ClassVar[str] = "kerneltest.PingHappened"
    aggregate_type: ClassVar[str] = "ping"
    ping_id: str
    note: str = ""

    def aggregate_id(self) -> str:
        return self.ping_id


def ensure_effects_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} (event_id uuid NOT NULL, note text)")


def effects_for(event_id: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {EFFECTS_TABLE} WHERE event_id = %s", [event_id])
        return cursor.fetchone()[0]


# Test switches: whether poison pings are refused (a bug, until it is fixed), and how often each
# "flaky:<n>" ping has failed so far (a dependency down for its first n tries).
POISON = {"refused": True}
_flaky_failures: dict[str, int] = {}


@event_handler(PingHappened.event_type, group=GROUP)
def record_effect(envelope: Envelope) -> None:
    note = envelope.payload.get("note", "")
    if note == "poison" and POISON["refused"]:
        raise RuntimeError("this handler refuses poison pings")
    if note.startswith("flaky:") and _flaky_failures.get(envelope.id, 0) < int(note.split(":")[1]):
        _flaky_failures[envelope.id] = _flaky_failures.get(envelope.id, 0) + 1
        raise OperationalError("the database is restarting (test)")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EFFECTS_TABLE} (event_id, note) VALUES (%s, %s)",
            [envelope.id, envelope.payload.get("note", "")],
        )


class PingInput(serializers.Serializer):
    note = serializers.CharField(max_length=100)
    amount = serializers.IntegerField(min_value=1, required=False)


class PingApi(APIView):
    """POST a ping: publishes PingHappened and answers its snowflake id (an effect to count)."""

    permission_classes = [AllowAny]

    @idempotent
    def post(self, request):
        data = PingInput(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["note"] == "conflict":
            raise Conflict("pings named conflict are refused", code="ping_conflict")
        if data.validated_data["note"] == "crash":
            raise RuntimeError("secret internals that must not leak")
        ping_id = str(snowflake.next_id())
        with transaction.atomic():
            publish(PingHappened(ping_id=ping_id, note=data.validated_data["note"]))
        return Response({"id": ping_id, "note": data.validated_data["note"]}, status=201)


urlpatterns = [
    path("api/v1/test/pings", PingApi.as_view()),
    path("", include("config.urls")),
]

handler404 = "nexuscart.errors.handler404"
handler500 = "nexuscart.errors.handler500"
