"""What a benchmark leaves behind, removed on every exit path (called from the benchmarks' EXIT traps).

    .venv/bin/python scripts/bench/bench_cleanup.py [--topic-prefix P] [--database DB] [--redis-url URL]

Only the benchmark's own things: Kafka topics and consumer groups named `<P>.*` (nexuscart.kafka names
every topic and group of a process `<KAFKA_TOPIC_PREFIX>.<name>`), its database, its Redis database.
Each part is tried even when another fails (Kafka down must not keep the database), and a failure is
printed, never raised: a trap must not turn a benchmark's exit status into the cleanup's.
No Django: the trap may run after a failed migrate or with broken settings.
"""

import argparse
import os
import re
import sys

KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://nexuscart:nexuscart@127.0.0.1:5433/postgres")


def drop_kafka(prefix: str) -> None:
    # A prefix without a dot would match other runs' names too (bench-1 vs bench-12.x): the dot ends it.
    from confluent_kafka.admin import AdminClient

    if prefix.rstrip(".") in ("", "nexuscart"):  # the shop's own topics are never a benchmark's
        raise ValueError(f"not a bench topic prefix: {prefix!r}")
    mine = prefix.rstrip(".") + "."
    client = AdminClient({"bootstrap.servers": KAFKA})
    groups = [g.group_id for g in client.list_consumer_groups(request_timeout=15).result().valid]
    groups = [g for g in groups if g.startswith(mine)]
    if groups:
        for group, future in client.delete_consumer_groups(groups, request_timeout=30).items():
            try:
                future.result()
            except Exception as error:  # one busy group must not keep the others
                print(f"[cleanup] consumer group {group}: {error}", file=sys.stderr)
    topics = [t for t in client.list_topics(timeout=15).topics if t.startswith(mine)]
    if topics:
        for topic, future in client.delete_topics(topics, operation_timeout=30).items():
            try:
                future.result()
            except Exception as error:
                print(f"[cleanup] topic {topic}: {error}", file=sys.stderr)
    print(f"[cleanup] kafka {mine}*: {len(topics)} topics, {len(groups)} consumer groups deleted")


def drop_database(name: str) -> None:
    import psycopg

    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"not a bench database name: {name!r}")
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"[cleanup] database {name} dropped")


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10)
    client.flushdb()
    print(f"[cleanup] redis {url} flushed")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topic-prefix")
    parser.add_argument("--database")
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    failed = False
    steps = ((args.database, drop_database), (args.redis_url, flush_redis), (args.topic_prefix, drop_kafka))
    for wanted, step in steps:
        if not wanted:
            continue
        try:
            step(wanted)
        except Exception as error:  # the other parts still run
            print(f"[cleanup] {step.__name__} {wanted}: {error}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
