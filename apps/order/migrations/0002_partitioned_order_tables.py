"""Orders, lines and transitions: tables hash-partitioned by user_id (8 partitions).

Every primary key starts with user_id (a partitioned table's unique constraints must contain
the partition key; Citus needs the same of distributed tables). Snowflake order ids are unique
by construction, so `id` alone needs only a plain index for lookups that don't know the user.
"""

from django.db import migrations

PARTITIONS = 8


def _partitions(table: str) -> str:
    return "\n".join(
        f"CREATE TABLE {table}_p{r} PARTITION OF {table} FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {r});"
        for r in range(PARTITIONS)
    )


CREATE_SQL = f"""
CREATE TABLE order_order (
    user_id bigint NOT NULL,
    id bigint NOT NULL,
    status varchar(32) NOT NULL,
    subtotal bigint NOT NULL,
    discount bigint NOT NULL DEFAULT 0,
    total bigint NOT NULL,
    currency varchar(3) NOT NULL DEFAULT 'USD',
    coupon_code varchar(64) NULL,
    shipping_address_id bigint NULL,
    shipping_address jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    flash_sale_campaign_id bigint NULL,
    flash_sale_reservation_id varchar(64) NULL,
    payment_reference varchar(200) NOT NULL DEFAULT '',
    refunded_total bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    paid_at timestamptz NULL,
    PRIMARY KEY (user_id, id),
    CONSTRAINT order_order_amounts_ck CHECK (subtotal >= 0 AND discount >= 0 AND total >= 0 AND refunded_total >= 0)
) PARTITION BY HASH (user_id);
{_partitions("order_order")}
CREATE INDEX order_order_user_created_idx ON order_order (user_id, created_at DESC, id DESC);
CREATE INDEX order_order_id_idx ON order_order (id);
CREATE INDEX order_order_status_created_idx ON order_order (status, created_at);

CREATE TABLE order_orderline (
    user_id bigint NOT NULL,
    id bigserial NOT NULL,
    order_id bigint NOT NULL,
    sku varchar(64) NOT NULL,
    name varchar(300) NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    line_total bigint NOT NULL CHECK (line_total >= 0),
    PRIMARY KEY (user_id, id),
    FOREIGN KEY (user_id, order_id) REFERENCES order_order (user_id, id) ON DELETE CASCADE
) PARTITION BY HASH (user_id);
{_partitions("order_orderline")}
CREATE INDEX order_orderline_order_idx ON order_orderline (user_id, order_id);
CREATE INDEX order_orderline_order_id_idx ON order_orderline (order_id);

CREATE TABLE order_ordertransition (
    user_id bigint NOT NULL,
    id bigserial NOT NULL,
    order_id bigint NOT NULL,
    from_status varchar(32) NOT NULL DEFAULT '',
    to_status varchar(32) NOT NULL,
    actor varchar(200) NOT NULL,
    reason varchar(500) NOT NULL DEFAULT '',
    at timestamptz NOT NULL,
    PRIMARY KEY (user_id, id),
    FOREIGN KEY (user_id, order_id) REFERENCES order_order (user_id, id) ON DELETE CASCADE
) PARTITION BY HASH (user_id);
{_partitions("order_ordertransition")}
CREATE INDEX order_ordertransition_order_idx ON order_ordertransition (user_id, order_id);
CREATE INDEX order_ordertransition_order_id_idx ON order_ordertransition (order_id);
"""

DROP_SQL = """
DROP TABLE IF EXISTS order_ordertransition;
DROP TABLE IF EXISTS order_orderline;
DROP TABLE IF EXISTS order_order;
"""


class Migration(migrations.Migration):
    dependencies = [("order", "0001_initial")]

    operations = [migrations.RunSQL(CREATE_SQL, DROP_SQL)]
