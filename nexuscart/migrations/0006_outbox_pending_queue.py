"""The relay's queue moves out of the event log (issue 10, outbox at volume).

Marking a delivered event "sent" rewrote its wide row and every index entry: `status` sat in the
partial indexes' predicate, so no update could be HOT (160-220 ms per 5,000 rows in a probe).
Now what is left to send is a narrow OutboxPending row, with the Kafka message rendered at insert;
the relay deletes it on acknowledgement (16-27 ms per 5,000) and the log row is never rewritten.

Rows that are pending (or failed, from versions before 0003) when this runs are queued with their
envelope rendered here, exactly as the relay used to render it, so they are still relayed.
"""

from django.db import migrations, models

_QUEUE_UNSENT = """
SET LOCAL TIME ZONE 'UTC';
INSERT INTO nexuscart_outboxpending (id, key, topic, event_type, event_id, body)
SELECT id, aggregate_type || ':' || aggregate_id, topic, event_type, event_id,
       json_build_object(
           'id', event_id, 'type', event_type, 'version', version,
           'aggregate_type', aggregate_type, 'aggregate_id', aggregate_id, 'sequence', sequence,
           'occurred_at', occurred_at, 'payload', payload, 'trace', trace
       )::text
FROM nexuscart_outboxevent
WHERE status <> 'sent'
ORDER BY id
"""

# Going back: the status column comes back as 'pending' (its default); what is no longer queued was sent.
_STATUS_FROM_QUEUE = """
UPDATE nexuscart_outboxevent SET status = 'sent'
WHERE id NOT IN (SELECT id FROM nexuscart_outboxpending)
"""

# A queue: every row is inserted and deleted once. Vacuum it often so the claim's walk of the
# primary key does not step over dead entries (the 0005 lesson, on the table that now churns).
_QUEUE_AUTOVACUUM = (
    "ALTER TABLE nexuscart_outboxpending SET (autovacuum_vacuum_scale_factor = 0, "
    "autovacuum_vacuum_threshold = 10000, autovacuum_analyze_scale_factor = 0, "
    "autovacuum_analyze_threshold = 10000, autovacuum_vacuum_cost_delay = 0)"
)


class Migration(migrations.Migration):
    dependencies = [("nexuscart", "0005_outbox_autovacuum")]

    operations = [
        migrations.CreateModel(
            name="OutboxPending",
            fields=[
                ("id", models.BigIntegerField(help_text="The OutboxEvent's id.", primary_key=True, serialize=False)),
                (
                    "key",
                    models.CharField(
                        help_text="Kafka key and ordering scope: aggregate_type:aggregate_id.", max_length=120
                    ),
                ),
                ("topic", models.CharField(max_length=200)),
                ("event_type", models.CharField(max_length=100)),
                ("event_id", models.UUIDField()),
                ("body", models.TextField(help_text="The envelope as it goes on the wire (JSON).")),
            ],
            options={
                "indexes": [models.Index(fields=["key", "id"], name="outbox_pending_key_idx")],
            },
        ),
        migrations.RunSQL(_QUEUE_AUTOVACUUM, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(_QUEUE_UNSENT, reverse_sql=_STATUS_FROM_QUEUE),
        migrations.RemoveIndex(model_name="outboxevent", name="outbox_pending_idx"),
        migrations.RemoveIndex(model_name="outboxevent", name="outbox_pending_aggregate_idx"),
        migrations.RemoveField(model_name="outboxevent", name="status"),
        migrations.RemoveField(model_name="outboxevent", name="sent_at"),
    ]
