"""The alert rules pass `promtool check rules` and their unit tests (`promtool test rules`), and the
Grafana dashboards and rules only name metrics /metrics really serves (issue 14)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from nexuscart.observability import metrics

ROOT = Path(__file__).resolve().parent.parent
PROMTOOL = ROOT / "scripts" / "promtool"  # installs promtool with `go install` when missing
RULES = sorted((ROOT / "docker" / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((ROOT / "docker" / "prometheus" / "tests").glob("*.yml"))
DASHBOARDS = sorted((ROOT / "docker" / "grafana" / "dashboards").glob("*.json"))


def promtool(*args: str) -> str:
    done = subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, timeout=1800, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_rules_are_valid():
    assert RULES
    assert "SUCCESS" in promtool("check", "rules", *map(str, RULES))


def test_rule_unit_tests_pass():
    assert RULE_TESTS
    assert "SUCCESS" in promtool("test", "rules", *map(str, RULE_TESTS))


def test_every_alert_the_issue_asks_for_exists():
    text = "\n".join(p.read_text() for p in RULES)
    alerts = set(re.findall(r"- alert: (\w+)", text))
    assert alerts >= {
        "OutboxLagging",
        "ConsumerLagging",
        "DeadLettersGrowing",
        "CircuitBreakerOpen",
        "HighErrorRate",
        "HighLatencyP99",
        "HotPathLatencyP99",
    }
    tests = "\n".join(p.read_text() for p in RULE_TESTS)
    assert {a for a in alerts if f"alertname: {a}" not in tests} == set(), "every alert has a unit test"


def _served_names() -> set[str]:
    metrics._discover()
    names = set(metrics._sources)
    for metric in (
        metrics.ORDERS_CREATED,
        metrics.ORDER_TRANSITIONS,
        metrics.FLASH_SALE_PURCHASES,
        metrics.DEAD_LETTERS,
        metrics.PAYMENTS,
        metrics.REFUNDS,
        metrics.REVENUE,
        metrics.HOT_REQUEST_SECONDS,
    ):
        names.update(sample.name for family in metric.collect() for sample in family.samples)
        names.add(metric._name + ("_total" if metric._type == "counter" else ""))
    return names


@pytest.mark.parametrize("path", DASHBOARDS + RULES + RULE_TESTS, ids=lambda p: p.name)
def test_dashboards_and_rules_name_only_served_metrics(path):
    served = _served_names()
    text = path.read_text()
    if path.suffix == ".json":
        board = json.loads(text)
        exprs = [t["expr"] for panel in board["panels"] for t in panel["targets"]]
        assert exprs
        assert board["uid"].startswith("nexuscart-")
        text = "\n".join(exprs)
    used = set(re.findall(r"\bnexuscart_[a-z_]+", text))
    base = {re.sub(r"_(bucket|count|sum)$", "", n) if n.startswith("nexuscart_hot_request") else n for n in used}
    assert base - served == set()


def test_the_dashboards_cover_shop_flash_sale_pipeline_and_payments():
    exprs = "\n".join(
        t["expr"] for p in DASHBOARDS for panel in json.loads(p.read_text())["panels"] for t in panel["targets"]
    )
    for name in (
        "nexuscart_orders_created_total",
        "nexuscart_revenue_cents_total",
        'nexuscart_order_transitions_total{target="PAID"}',
        "nexuscart_flash_sale_purchases_total",
        "nexuscart_flash_sale_remaining",
        "nexuscart_flash_sale_drain_lag",
        "nexuscart_outbox_oldest_pending_seconds",
        "nexuscart_consumer_lag",
        "nexuscart_dead_letters_total",
        "nexuscart_payments_total",
        "nexuscart_refunds_total",
        "nexuscart_circuit_open",
    ):
        assert name in exprs, name
