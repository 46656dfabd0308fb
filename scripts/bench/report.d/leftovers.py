"""What a benchmark left behind: databases, Kafka topics, OpenSearch indices, Redis databases.

Every benchmark must use its own database, Redis database and topic prefix and clean up after
itself. The report takes a snapshot of the shared services before and after each benchmark and
names what appeared and stayed (it removes nothing: on a shared machine a new database may be
someone else's run). Read on a quiet machine, a name in the runs table's "left behind" column is
that benchmark's leak. A service that does not answer is left out of the snapshot, never an error.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sys
import urllib.request
from pathlib import Path

PG_ADMIN = os.environ.get("REPORT_PG_ADMIN_URL", "postgres://nexuscart:nexuscart@127.0.0.1:5433/postgres")
KAFKA = os.environ.get("REPORT_KAFKA", "127.0.0.1:9092")
OPENSEARCH = os.environ.get("REPORT_OPENSEARCH", "http://127.0.0.1:9200")
REDIS = os.environ.get("REPORT_REDIS", "redis://127.0.0.1:6380")


def _databases() -> set[str]:
    import psycopg

    with psycopg.connect(PG_ADMIN, connect_timeout=5) as conn:
        return {f"database {name}" for (name,) in conn.execute("SELECT datname FROM pg_database")}


def _topics() -> set[str]:
    from confluent_kafka.admin import AdminClient

    topics = AdminClient({"bootstrap.servers": KAFKA}).list_topics(timeout=10).topics
    return {f"topic {name}" for name in topics if not name.startswith("__")}


def _indices() -> set[str]:
    with urllib.request.urlopen(f"{OPENSEARCH}/_cat/indices?format=json&h=index", timeout=5) as answer:  # noqa: S310 (loopback, our own service)
        return {f"index {row['index']}" for row in json.load(answer) if not row["index"].startswith(".")}


def _redis_dbs() -> set[str]:
    import redis

    client = redis.Redis.from_url(REDIS, socket_timeout=5)
    info = client.info("keyspace")  # {"db57": {"keys": 12, ...}, ...}: only the non-empty ones
    return {f"redis db {name.removeprefix('db')}" for name in info}


def snapshot() -> set[str]:
    found: set[str] = set()
    for probe in (_databases, _topics, _indices, _redis_dbs):
        try:
            found |= probe()
        except Exception as exc:  # a service that is down is simply not in the snapshot
            print(f"[report] leftovers: {probe.__name__.strip('_')} not checked ({exc})", file=sys.stderr)
    return found


def left_behind(before: set[str], after: set[str]) -> list[str]:
    """What is there after and was not before, with topics of one prefix folded into `topic prefix.*`."""
    new = sorted(after - before)
    by_prefix: dict[str, list[str]] = {}
    for name in (n for n in new if n.startswith("topic ")):
        by_prefix.setdefault(re.sub(r"\.[^.]+$", "", name), []).append(name)
    folded = [
        f"{prefix}.* ({len(names)} topics)" if len(names) > 1 else names[0] for prefix, names in by_prefix.items()
    ]
    return [n for n in new if not n.startswith("topic ")] + folded


def _hex_address(text: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    """/proc/net/tcp's `0100007F:1F90` (the address in host byte order, 32-bit words) -> (127.0.0.1, 8080)."""
    address, port = text.split(":")
    raw = bytes.fromhex(address)
    raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(raw), int(port, 16)


def _loopback(host: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(host, "ipv4_mapped", None)
    return host.is_loopback or bool(mapped and mapped.is_loopback)


def exposed_listeners() -> set[str]:
    """TCP sockets listening on anything but loopback (0.0.0.0, ::, a real interface), as host:port."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 3 and fields[3] == "0A":  # LISTEN
                host, port = _hex_address(fields[1])
                if not _loopback(host):
                    found.add(f"[{host}]:{port}" if host.version == 6 else f"{host}:{port}")
    return found
