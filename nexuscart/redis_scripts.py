"""Lua scripts run by SHA: loaded once, reloaded when Redis forgot them (SCRIPT FLUSH, restart, failover).

    RESERVE = RedisScript("reserve", "#!lua\\n...")
    RESERVE.run(client, keys=[...], args=[...])          # redis.Redis / redis.cluster.RedisCluster
    await RESERVE.arun(aclient, keys=[...], args=[...])  # redis.asyncio clients

Every script must start with a `#!lua` shebang: with it Redis 7 refuses a script that touches a
key it was not given, or keys of several hash slots, on a cluster (instead of silently working on
one node and failing on the next). Keys of one script therefore share a hash tag (`fs:{42}:...`).
The SHA is computed here, so the hot path sends EVALSHA without ever asking Redis first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from redis.exceptions import NoScriptError

Arg = str | int | float | bytes


class RedisScript:
    def __init__(self, name: str, source: str) -> None:
        if not source.startswith("#!lua"):
            raise ValueError(f"script {name!r} must begin with a '#!lua' shebang (see module docstring)")
        self.name = name
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324  (Redis names scripts by SHA-1)

    @classmethod
    def from_file(cls, path: Path | str) -> RedisScript:
        path = Path(path)
        return cls(path.stem, path.read_text())

    def run(self, client: Any, *, keys: Sequence[str], args: Sequence[Arg] = ()) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            # EVAL both runs and caches the script on the node that owns the keys (one round
            # trip, right node on a cluster); the next EVALSHA hits again.
            return client.eval(self.source, len(keys), *keys, *args)

    async def arun(self, client: Any, *, keys: Sequence[str], args: Sequence[Arg] = ()) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *args)

    def load(self, client: Any) -> str:
        """Preload (e.g. at start-up); on a cluster client redis-py sends it to every primary."""
        return client.script_load(self.source)

    def __repr__(self) -> str:
        return f"RedisScript({self.name!r}, sha={self.sha[:12]})"


__all__ = ["RedisScript"]
