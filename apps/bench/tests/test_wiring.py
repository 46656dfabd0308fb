"""Bench routes exist under config.settings.bench and nowhere else."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve

from nexuscart.hotpath import discover_routes

ROOT = Path(__file__).resolve().parents[3]
BENCH_DJANGO_PATHS = ["/api/v1/bench/orders-naive", "/api/v1/flash-sales/_bench/naive-purchase"]
BENCH_HOT_PATHS = ["/api/v1/bench/noop", "/api/v1/flash-sales/_bench/purchase"]


def _hot_paths_matched(routes, paths):
    return {path for path in paths for route in routes if route.regex.match(path)}


def test_the_test_settings_route_no_bench_path():
    assert "apps.bench" not in settings.INSTALLED_APPS
    for path in BENCH_DJANGO_PATHS:
        with pytest.raises(Resolver404):
            resolve(path)
    assert _hot_paths_matched(discover_routes(), BENCH_HOT_PATHS) == set()


@pytest.mark.parametrize("module", ["config.settings.base", "config.settings.test"])
def test_only_the_bench_settings_install_the_bench_app(module):
    source = (ROOT / "config" / "settings" / f"{module.rsplit('.', 1)[1]}.py").read_text()
    assert "apps.bench" not in source


def test_the_bench_settings_route_every_bench_path_and_keep_the_project_routes():
    probe = """
import json, sys, django
django.setup()
from django.urls import resolve
from nexuscart.hotpath import discover_routes
paths, hot = json.loads(sys.argv[1])
routes = discover_routes()
print(json.dumps({
    "django": {p: resolve(p).url_name for p in paths + ["/healthz", "/api/v1/orders"]},
    "hot": sorted(p for p in hot if any(r.regex.match(p) for r in routes)),
}))
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.bench"}
    result = subprocess.run(
        [sys.executable, "-c", probe, json.dumps([BENCH_DJANGO_PATHS, BENCH_HOT_PATHS])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(seen["django"]) == {*BENCH_DJANGO_PATHS, "/healthz", "/api/v1/orders"}
    assert seen["django"]["/healthz"] == "healthz"
    assert seen["hot"] == sorted(BENCH_HOT_PATHS)
