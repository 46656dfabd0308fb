"""Readiness probe for the local Kafka node: a real Metadata request, standard library only.

Usage: python3 metadata_check.py HOST PORT [EXPECTED_CLUSTER_ID]

Asks the broker for its API versions, then for cluster metadata (all topics), and succeeds
(exit 0, prints "cluster=<id> controller=<id> brokers=<host:port,...>") only when the answer
names a cluster (the expected one, if given), an active controller and at least one broker.
Exits 1 with the reason otherwise. Needs neither Java nor a client library, so it works before
the project's virtualenv exists.
"""

import socket
import struct
import sys

API_METADATA = 3
API_VERSIONS = 18


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self):
        size = self.take(">h")
        if size < 0:
            return None
        value = self.data[self.pos : self.pos + size].decode()
        self.pos += size
        return value


def call(sock, api_key, version, correlation_id, body):
    client_id = b"nexuscart-ready"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", recv_exact(sock, 4))[0]
    reader = Reader(recv_exact(sock, size))
    if reader.take(">i") != correlation_id:
        raise RuntimeError("correlation id mismatch")
    return reader


def recv_exact(sock, size):
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise RuntimeError("connection closed by the broker")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def probe(host, port, expected_cluster_id=None):
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.settimeout(5)
        # ApiVersions v0: every broker answers it (an unsupported version gets a v0 answer anyway).
        reader = call(sock, API_VERSIONS, 0, 1, b"")
        error = reader.take(">h")
        if error not in (0, 35):
            raise RuntimeError(f"ApiVersions error {error}")
        versions = {}
        for _ in range(reader.take(">i")):
            key, low, high = reader.take(">h"), reader.take(">h"), reader.take(">h")
            versions[key] = (low, high)
        if API_METADATA not in versions:
            raise RuntimeError("broker does not serve Metadata")
        low, high = versions[API_METADATA]
        # v4..v8 share one non-flexible layout for everything read below.
        version = min(max(4, low), 8, high)
        if version < low or version < 4:
            raise RuntimeError(f"no Metadata version in 4..8 (broker serves {low}..{high})")
        body = struct.pack(">ib", -1, 0)  # all topics, no auto-creation
        if version >= 8:
            body += struct.pack(">bb", 0, 0)  # no authorized-operations lists
        reader = call(sock, API_METADATA, version, 2, body)
        reader.take(">i")  # throttle_time_ms
        brokers = []
        for _ in range(reader.take(">i")):
            reader.take(">i")  # node id
            host_name = reader.string()
            broker_port = reader.take(">i")
            reader.string()  # rack
            brokers.append(f"{host_name}:{broker_port}")
        cluster_id = reader.string()
        controller_id = reader.take(">i")
    if not brokers:
        raise RuntimeError("metadata lists no broker yet")
    if controller_id < 0:
        raise RuntimeError("metadata names no controller yet")
    if not cluster_id:
        raise RuntimeError("metadata names no cluster")
    if expected_cluster_id and cluster_id != expected_cluster_id:
        raise RuntimeError(f"cluster id {cluster_id} is not ours ({expected_cluster_id})")
    return f"cluster={cluster_id} controller={controller_id} brokers={','.join(brokers)}"


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        print(probe(argv[1], int(argv[2]), argv[3] if len(argv) == 4 else None))
    except (OSError, RuntimeError, struct.error, UnicodeDecodeError) as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
