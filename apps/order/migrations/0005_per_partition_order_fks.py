"""Order lines and history reference their order's partition, not the partitioned parent (issue 10).

The flash sale's batch writer inserts 500 orders, 500 lines and 500 history rows in one
statement; each line and history row fires a row-level foreign-key check. Against the
partitioned parent `order_order` each check is a query that must route to one of the 8
partitions (runtime pruning, partition lookup) on every call; against a plain partition it is a
single index probe. Measured on a scratch database (pgbench, the batch writer's CTE, 500 orders
a batch, alternating runs, load 4-5): 40-43 ms per batch with the parent FKs, 17-21 ms with
per-partition FKs.

Equivalent guarantee: order_order, order_orderline and order_ordertransition are all
`PARTITION BY HASH (user_id)` with the same modulus, remainders and operator class, and the
foreign key contains user_id. A line with user_id u can only live in the lines partition whose
bound matches hash(u), and its order can only live in the order partition with that same bound,
so "the order exists in the matching partition" is exactly "the order exists". ON DELETE CASCADE
stays: a DELETE on the parent deletes the row in its partition, whose FK cascades to the
matching lines/history partitions, where every referencing row lives. The migration checks the
partitioning instead of assuming it, and pairs partitions by their bound (not by name); it
fails loudly if they do not match.

Caveat: a parent-level FK follows new partitions by itself; these do not. Repartitioning
(a different modulus, new partitions) must recreate them: run this migration's SQL again.
The order id registry triggers (0004) are statement triggers on the parent and are unaffected.
On Citus, docker/citus/distribute.sql puts the parent-level FKs back before distributing.
"""

from django.db import migrations

# Fails unless the three tables share the partition key (strategy, columns, operator classes)
# and every order partition has exactly one lines and one history partition with the same bound.
CHECK_SQL = """
DO $$
DECLARE
    ref record;
    child text;
    bound text;
    n int;
BEGIN
    SELECT partstrat, partclass::text AS classes, pg_get_partkeydef(partrelid) AS keydef INTO ref
    FROM pg_partitioned_table WHERE partrelid = 'order_order'::regclass;
    IF ref.partstrat IS DISTINCT FROM 'h' OR ref.keydef <> 'HASH (user_id)' THEN
        RAISE EXCEPTION 'order_order is not hash-partitioned by user_id';
    END IF;
    FOREACH child IN ARRAY ARRAY['order_orderline', 'order_ordertransition'] LOOP
        PERFORM 1 FROM pg_partitioned_table p
        WHERE p.partrelid = child::regclass AND p.partstrat = ref.partstrat
          AND p.partclass::text = ref.classes AND pg_get_partkeydef(p.partrelid) = ref.keydef;
        IF NOT FOUND THEN
            RAISE EXCEPTION '% is not partitioned like order_order', child;
        END IF;
        FOR bound IN
            SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'order_order'::regclass
        LOOP
            SELECT count(*) INTO n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = child::regclass AND pg_get_expr(c.relpartbound, c.oid) = bound;
            IF n <> 1 THEN
                RAISE EXCEPTION '% has % partitions for order_order bound %', child, n, bound;
            END IF;
        END LOOP;
        IF (SELECT count(*) FROM pg_inherits WHERE inhparent = child::regclass)
           <> (SELECT count(*) FROM pg_inherits WHERE inhparent = 'order_order'::regclass) THEN
            RAISE EXCEPTION '% and order_order have different partitions', child;
        END IF;
    END LOOP;
END
$$;
"""

FORWARD_SQL = (
    CHECK_SQL
    + """
ALTER TABLE order_orderline DROP CONSTRAINT order_orderline_user_id_order_id_fkey;
ALTER TABLE order_ordertransition DROP CONSTRAINT order_ordertransition_user_id_order_id_fkey;
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN
        SELECT child.relname AS child, parent.relname AS parent
        FROM pg_inherits ci JOIN pg_class child ON child.oid = ci.inhrelid
        JOIN pg_inherits oi ON oi.inhparent = 'order_order'::regclass
        JOIN pg_class parent ON parent.oid = oi.inhrelid
        WHERE ci.inhparent IN ('order_orderline'::regclass, 'order_ordertransition'::regclass)
          AND pg_get_expr(child.relpartbound, child.oid) = pg_get_expr(parent.relpartbound, parent.oid)
    LOOP
        EXECUTE format(
            'ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (user_id, order_id) '
            'REFERENCES %I (user_id, id) ON DELETE CASCADE',
            p.child, p.child || '_order_fk', p.parent
        );
    END LOOP;
END
$$;
"""
)

REVERSE_SQL = """
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT con.conname, rel.relname FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
        JOIN pg_inherits i ON i.inhrelid = rel.oid
        WHERE i.inhparent IN ('order_orderline'::regclass, 'order_ordertransition'::regclass)
          AND con.contype = 'f' AND con.conname = rel.relname || '_order_fk'
    LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', c.relname, c.conname);
    END LOOP;
END
$$;
ALTER TABLE order_orderline ADD CONSTRAINT order_orderline_user_id_order_id_fkey
    FOREIGN KEY (user_id, order_id) REFERENCES order_order (user_id, id) ON DELETE CASCADE;
ALTER TABLE order_ordertransition ADD CONSTRAINT order_ordertransition_user_id_order_id_fkey
    FOREIGN KEY (user_id, order_id) REFERENCES order_order (user_id, id) ON DELETE CASCADE;
"""


class Migration(migrations.Migration):
    dependencies = [("order", "0004_order_id_registry")]

    operations = [migrations.RunSQL(FORWARD_SQL, REVERSE_SQL)]
