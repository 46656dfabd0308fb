"""Staff views of the event backbone: outbox lag, failed rows, dead letters."""

from django.contrib import admin, messages
from django.db.models import Min
from django.utils import timezone

from nexuscart.models import DeadLetter, IdempotencyRecord, OutboxEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # The outbox and dead letters are the audit trail of what was published: never deleted by hand.
        return False


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
        "sent_at",
    )
    list_filter = ("status", "event_type", "aggregate_type")
    search_fields = ("aggregate_id", "event_id", "event_type")
    date_hierarchy = "occurred_at"
    actions = ["retry_failed"]
    list_per_page = 50
    show_full_result_count = False  # counting a big outbox on every page load is expensive

    def changelist_view(self, request, extra_context=None):
        pending = OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING)
        oldest = pending.aggregate(oldest=Min("occurred_at"))["oldest"]
        lag = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        failed = OutboxEvent.objects.filter(status=OutboxEvent.Status.FAILED).count()
        messages.info(request, f"Outbox lag: {pending.count()} pending, oldest {lag:.1f}s old; {failed} failed.")
        return super().changelist_view(request, extra_context)

    def has_retry_permission(self, request) -> bool:
        return request.user.is_superuser  # no staff role re-publishes events

    @admin.action(description="Send the selected failed events again", permissions=["retry"])
    def retry_failed(self, request, queryset):
        updated = queryset.filter(status=OutboxEvent.Status.FAILED).update(
            status=OutboxEvent.Status.PENDING, attempts=0, last_error=""
        )
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
