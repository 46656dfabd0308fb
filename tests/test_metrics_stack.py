"""/metrics through the scripts/run topology in multiprocess mode (issue 14): two gunicorn workers and
two uvicorn hot-path workers each count in PROMETHEUS_MULTIPROC_DIR, and one scrape through the
edge (with the bearer token) adds them all up."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.stack import stack_env, start_stack

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _value(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_one_scrape_counts_every_worker_process(subprocess_env, tmp_path):
    env = stack_env(subprocess_env, PROMETHEUS_MULTIPROC_DIR=str(tmp_path), METRICS_TOKEN="stack-token")
    with start_stack(env, programs=("web", "hot", "edge"), web_workers=2, hot_workers=2) as stack:
        auth = {"Authorization": "Bearer stack-token"}
        assert stack.session.get(f"{stack.topology.url}/metrics", timeout=10).status_code == 401
        # Hot path: 40 unauthenticated status polls (401s), spread over both uvicorn workers.
        for _ in range(40):
            assert (
                stack.session.get(f"{stack.topology.url}/api/v1/flash-sales/reservations/1", timeout=10).status_code
                == 401
            )
        pids = {p.name.split("_")[-1] for p in tmp_path.glob("histogram_*.db")}
        text = stack.session.get(f"{stack.topology.url}/metrics", headers=auth, timeout=10).text
    hot = _value(text, "nexuscart_hot_request_duration_seconds_count", route="reservation_status", status="401")
    assert hot >= 40  # the stack's readiness probes add a few of their own
    assert len(pids) >= 2, "more than one process wrote metrics"
    assert "nexuscart_outbox_pending" in text  # and the scrape-time gauges are there too
