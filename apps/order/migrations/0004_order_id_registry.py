"""A global unique index on order id (issue 12 #7), and the map order id -> user_id (its partition).

order_order is hash-partitioned by user_id, so PostgreSQL allows no unique index on `id` alone
(a partitioned table's unique constraints must contain the partition key). Snowflake ids are
unique by construction, but only as long as no two processes ever share a worker id: the
database should refuse a duplicate instead of trusting that.

`order_orderid` is a plain table whose primary key is the order id. A statement-level AFTER
INSERT trigger on the partitioned parent copies every new order's (id, user_id) into it from the
statement's transition table, in the same statement: every writer (checkout's CTE, the flash
sale's batch writer, the ORM, a manual INSERT) gets the guarantee with no code of its own and no
extra round trip, and a batch of 500 orders costs one multi-row INSERT, not 500 trigger calls.
A duplicate id for another user raises unique_violation at the end of the statement, so the
whole statement (order, lines, history) and its transaction roll back: nothing half-written.
The same table answers "which partition holds order N" with one primary-key probe.

Rows must be inserted through the parent (as every writer does): a statement trigger on a
partitioned table does not fire for an INSERT aimed at a partition directly.
On Citus the trigger cannot stay (docker/citus/README.md, "Order ids").
"""

from django.db import migrations, models

CREATE_SQL = """
CREATE TABLE order_orderid (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL
);
-- Existing orders first (fails loudly if duplicates already exist: they must be resolved by hand).
INSERT INTO order_orderid (id, user_id) SELECT id, user_id FROM order_order;

CREATE FUNCTION order_orderid_register() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO order_orderid (id, user_id) SELECT id, user_id FROM new_orders;
    RETURN NULL;
END
$$;
CREATE TRIGGER order_order_id_unique AFTER INSERT ON order_order
    REFERENCING NEW TABLE AS new_orders FOR EACH STATEMENT EXECUTE FUNCTION order_orderid_register();

CREATE FUNCTION order_orderid_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM order_orderid r USING old_orders o WHERE r.id = o.id AND r.user_id = o.user_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER order_order_id_forget AFTER DELETE ON order_order
    REFERENCING OLD TABLE AS old_orders FOR EACH STATEMENT EXECUTE FUNCTION order_orderid_forget();

-- id and user_id never change after insert; refuse it rather than let the registry drift.
CREATE FUNCTION order_orderid_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'order id and user_id are immutable (order %)', OLD.id USING ERRCODE = 'check_violation';
END
$$;
CREATE TRIGGER order_order_id_frozen BEFORE UPDATE OF id, user_id ON order_order
    FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id OR NEW.user_id IS DISTINCT FROM OLD.user_id)
    EXECUTE FUNCTION order_orderid_frozen();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS order_order_id_frozen ON order_order;
DROP TRIGGER IF EXISTS order_order_id_forget ON order_order;
DROP TRIGGER IF EXISTS order_order_id_unique ON order_order;
DROP FUNCTION IF EXISTS order_orderid_frozen();
DROP FUNCTION IF EXISTS order_orderid_forget();
DROP FUNCTION IF EXISTS order_orderid_register();
DROP TABLE IF EXISTS order_orderid;
"""


class Migration(migrations.Migration):
    dependencies = [("order", "0003_shipping_and_sales_tax")]

    operations = [
        migrations.RunSQL(
            CREATE_SQL,
            DROP_SQL,
            state_operations=[
                migrations.CreateModel(
                    name="OrderId",
                    fields=[
                        ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("user_id", models.BigIntegerField()),
                    ],
                    options={"db_table": "order_orderid", "managed": False},
                )
            ],
        )
    ]
