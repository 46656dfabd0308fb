-- NexusCart on Citus: turn the single-node schema into a distributed one.
-- Read docker/citus/README.md first. Not run on the project's CI machines (no Citus there).
--
--   psql "$COORDINATOR_URL" -v ON_ERROR_STOP=1 -f docker/citus/distribute.sql
--
-- Run it ONCE, on the coordinator, as a superuser, AFTER `python manage.py migrate` has created
-- the tables and the workers have been added (citus_add_node). Rows already present are copied
-- into the shards, so run it on an empty or small database, in a maintenance window.
--
-- TABLE NAMES ARE NOT FINAL: the order app is still being built. The names below are the expected
-- Django defaults (<app label>_<model name>). Check them after migrating, e.g.
--   \dt catalog_*        \dt order_*        \dt+ order_order*   (partitions show up too)
-- and edit this file before running it. Each statement fails loudly on a missing table.

\set ON_ERROR_STOP on

CREATE EXTENSION IF NOT EXISTS citus;

-- ---------------------------------------------------------------------------------------------
-- 1. Catalog: small, read-mostly, joined from everywhere -> reference tables (a full copy on every
--    node). Parents before children, so every foreign key points at a table that is already a
--    reference table. Expected names (category tree, products, variants/SKUs, attributes):
-- ---------------------------------------------------------------------------------------------
SELECT create_reference_table('catalog_category');
SELECT create_reference_table('catalog_product');
SELECT create_reference_table('catalog_variant');
SELECT create_reference_table('catalog_attribute');
-- ... and every other catalog_* table `\dt catalog_*` lists (attribute values, images, ...).

-- ---------------------------------------------------------------------------------------------
-- 2. Orders: distributed by user_id, every order table colocated with order_order, so one user's
--    order, its lines and its transition log live in the same shard and a checkout is a
--    single-shard transaction. The local hash partitions (by user_id) are distributed with their
--    parent. Shard count: citus.shard_count (default 32) unless set here, e.g.
--      SET citus.shard_count = 64;
-- ---------------------------------------------------------------------------------------------
-- Foreign keys first. Migration order 0005 points each lines/history partition's FK at the
-- matching order_order partition (a cheaper check on one node). Citus requires FKs between
-- co-located distributed tables to include the distribution column and is written against
-- parent-level FKs on partitioned tables, so put back the single parent-level FK per table:
-- (user_id, order_id) -> order_order (user_id, id), ON DELETE CASCADE, as before 0005. Same rows
-- allowed, same cascade; each shard then checks it locally.
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
ALTER TABLE order_orderline DROP CONSTRAINT IF EXISTS order_orderline_user_id_order_id_fkey;
ALTER TABLE order_orderline ADD CONSTRAINT order_orderline_user_id_order_id_fkey
    FOREIGN KEY (user_id, order_id) REFERENCES order_order (user_id, id) ON DELETE CASCADE;
ALTER TABLE order_ordertransition DROP CONSTRAINT IF EXISTS order_ordertransition_user_id_order_id_fkey;
ALTER TABLE order_ordertransition ADD CONSTRAINT order_ordertransition_user_id_order_id_fkey
    FOREIGN KEY (user_id, order_id) REFERENCES order_order (user_id, id) ON DELETE CASCADE;
SELECT create_distributed_table('order_order', 'user_id');
SELECT create_distributed_table('order_orderline', 'user_id', colocate_with => 'order_order');
SELECT create_distributed_table('order_ordertransition', 'user_id', colocate_with => 'order_order');
-- Order id registry (migration order 0004): a trigger on order_order writes order_orderid
-- (id primary key). A trigger on a distributed table runs on the worker holding each shard and
-- cannot write a table on other nodes, so it goes; the registry is distributed by its own key.
-- From here on uniqueness of order ids across users rests on the fenced snowflake lease
-- (nexuscart/snowflake.py) unless writers insert into order_orderid themselves (README, "Order ids").
DROP TRIGGER IF EXISTS order_order_id_unique ON order_order;
DROP TRIGGER IF EXISTS order_order_id_forget ON order_order;
DROP TRIGGER IF EXISTS order_order_id_frozen ON order_order;
SELECT create_distributed_table('order_orderid', 'id');
-- ... and any other order_* table keyed by user_id (cart, idempotency of checkouts, ...), each with
--     colocate_with => 'order_order'.

-- ---------------------------------------------------------------------------------------------
-- 3. Everything else stays a plain table on the coordinator (see the README): users and Django's
--    own tables (auth, sessions, admin, contenttypes), inventory, promotion, payment, and the
--    shared kernel (nexuscart_outboxevent, nexuscart_aggregatesequence, nexuscart_inboxevent,
--    nexuscart_idempotencyrecord, ...).
-- ---------------------------------------------------------------------------------------------

-- Check: what is distributed, how, and with what.
SELECT table_name, citus_table_type, distribution_column, colocation_id, shard_count
FROM citus_tables
ORDER BY citus_table_type, table_name;
