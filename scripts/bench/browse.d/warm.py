"""Warm-up for scripts/bench/browse: every distinct path of a mix requested once (16 threads).

python scripts/bench/browse.d/warm.py BASE_URL PATHS
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

local = threading.local()


def get(url: str) -> int:
    if not hasattr(local, "http"):
        local.http = requests.Session()
    return local.http.get(url, timeout=30).status_code


def main() -> None:
    base, path_file = sys.argv[1], sys.argv[2]
    with open(path_file) as fh:
        paths = sorted({line.strip() for line in fh if line.strip()})
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(get, (base + p for p in paths)))
    bad = sum(1 for c in codes if c >= 400)
    print(f"[bench] warmed {len(paths)} distinct paths of {path_file.rsplit('/', 1)[-1]} ({bad} answered >= 400)")


if __name__ == "__main__":
    main()
