"""The outbox is a queue: every row is inserted, then updated once (sent), at thousands a second.

With the default autovacuum thresholds (20 % of the table) the partial "pending" indexes fill
with entries of rows already sent between vacuums, and the relay's claim walks them (measured:
45,000 index entries scanned to find 10,000 pending rows). Vacuum and analyze this table early
and without cost throttling instead.
"""

from django.db import migrations

_OPTIONS = (
    "autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 5000, "
    "autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 5000, "
    "autovacuum_vacuum_cost_delay = 0"
)
_RESET = (
    "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor, "
    "autovacuum_analyze_threshold, autovacuum_vacuum_cost_delay"
)


class Migration(migrations.Migration):
    dependencies = [("nexuscart", "0004_dead_letter_redriven")]

    operations = [
        migrations.RunSQL(
            f"ALTER TABLE nexuscart_outboxevent SET ({_OPTIONS})",
            reverse_sql=f"ALTER TABLE nexuscart_outboxevent RESET ({_RESET})",
        ),
    ]
