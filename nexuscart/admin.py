"""Staff views of the event backbone: outbox lag, failed rows, dead letters."""

from django.contrib import admin, messages
from django.db.models import Min
from django.utils import timezone

from nexuscart.models import DeadLetter, IdempotencyRecord, OutboxEvent, OutboxPending


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # The outbox and dead letters are the audit trail of what was published: never deleted by hand.
        return False


class OutboxStatusFilter(admin.SimpleListFilter):
    # `status` is derived from the relay's queue (OutboxPending), not a column.
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(OutboxEvent.Status.PENDING, "pending"), (OutboxEvent.Status.SENT, "sent")]

    def queryset(self, request, queryset):
        if self.value() == OutboxEvent.Status.PENDING:
            return queryset.pending()
        if self.value() == OutboxEvent.Status.SENT:
            return queryset.sent()
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "event_type",
        "aggregate_type",
        "aggregate_id",
        "sequence",
        "status",
        "attempts",
        "occurred_at",
    )
    list_filter = (OutboxStatusFilter, "event_type", "aggregate_type")
    search_fields = ("aggregate_id", "event_id", "event_type")
    date_hierarchy = "occurred_at"
    actions = ["retry_failed"]
    list_per_page = 50
    show_full_result_count = False  # counting a big outbox on every page load is expensive

    @admin.display(description="status")
    def status(self, obj: OutboxEvent) -> str:
        return obj.status

    def changelist_view(self, request, extra_context=None):
        pending = OutboxPending.objects.all()
        first = pending.aggregate(first=Min("id"))["first"]
        oldest = OutboxEvent.objects.filter(id=first).values_list("occurred_at", flat=True).first() if first else None
        lag = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        failing = OutboxEvent.objects.pending().filter(attempts__gt=0).count()
        messages.info(
            request, f"Outbox lag: {pending.count()} pending, oldest {lag:.1f}s old; {failing} with failed attempts."
        )
        return super().changelist_view(request, extra_context)

    def has_retry_permission(self, request) -> bool:
        return request.user.is_superuser  # no staff role re-publishes events

    @admin.action(description="Send the selected events again now (reset their failed attempts)", permissions=["retry"])
    def retry_failed(self, request, queryset):
        # Nothing is ever given up on (no FAILED state): a pending row is retried anyway; this
        # clears its attempt count and error so the admin shows it as fresh.
        updated = queryset.pending().filter(attempts__gt=0).update(attempts=0, last_error="")
        self.message_user(request, f"{updated} event(s) queued for the relay again.")


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ("id", "group", "event_type", "event_id", "topic", "offset", "created_at")
    list_filter = ("group", "event_type")
    search_fields = ("event_id",)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("scope", "key", "method", "path", "status_code", "created_at")
    search_fields = ("key", "scope")
