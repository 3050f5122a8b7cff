"""The Prometheus alerting rules in docs/alerts/maintainx-alerts.yml: valid, and about metrics
the library really publishes (under the names the Prometheus exporter gives them)."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any, cast

import pytest
from opentelemetry import metrics

from maintainx_resilient import telemetry
from maintainx_resilient._events import EventBus
from maintainx_resilient.webhooks.metrics import METRIC_WEBHOOK_FAILURES, WebhookMetrics

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the alert rules")

RULES = Path(__file__).resolve().parent.parent / "docs" / "alerts" / "maintainx-alerts.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed (Debian/Ubuntu: apt-get install prometheus)",
)

EXPECTED_ALERTS = {
    "MaintainXHighErrorRate",
    "MaintainXErrorRateMajor",
    "MaintainXHighLatency",
    "MaintainXWebhookFailures",
    "MaintainXWebhookBacklog",
    "MaintainXCircuitOpen",
    "MaintainXFallbackServing",
}

# ---- the library's metric names, as the Prometheus exporter spells them ----------------------

_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "": ""}


class _RecordingMeter(metrics.NoOpMeter):
    def __init__(self) -> None:
        super().__init__("recording")
        self.instruments: list[tuple[str, str, str]] = []  # kind, name, unit

    def create_counter(self, name: str, unit: str = "", description: str = "") -> Any:
        self.instruments.append(("counter", name, unit))
        return super().create_counter(name, unit, description)

    def create_up_down_counter(self, name: str, unit: str = "", description: str = "") -> Any:
        self.instruments.append(("gauge", name, unit))
        return super().create_up_down_counter(name, unit, description)

    def create_observable_gauge(
        self, name: str, callbacks: Any = None, unit: str = "", description: str = ""
    ) -> Any:
        self.instruments.append(("gauge", name, unit))
        return super().create_observable_gauge(name, callbacks, unit, description)

    def create_histogram(
        self, name: str, unit: str = "", description: str = "", **kwargs: Any
    ) -> Any:
        self.instruments.append(("histogram", name, unit))
        return super().create_histogram(name, unit, description, **kwargs)


class _RecordingProvider(metrics.NoOpMeterProvider):
    def __init__(self) -> None:
        self.meter = _RecordingMeter()

    def get_meter(self, *args: Any, **kwargs: Any) -> Any:
        return self.meter


def prometheus_names(kind: str, name: str, unit: str) -> set[str]:
    """The series names the OpenTelemetry Prometheus exporter publishes for one instrument."""
    base = re.sub(r"[^a-zA-Z0-9_:]", "_", name)
    unit = re.sub(r"\{[^}]*\}", "", unit)  # annotations like {request} are dropped
    if unit not in _UNITS:
        raise AssertionError(f"teach this test the Prometheus spelling of unit {unit!r}")
    suffix = _UNITS[unit]
    if suffix and not base.endswith("_" + suffix):
        base = f"{base}_{suffix}"
    if kind == "counter":
        return {f"{base}_total"}
    if kind == "histogram":
        return {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    return {base}


def emitted() -> dict[str, str]:
    """Every Prometheus series name the library publishes -> its OpenTelemetry name."""
    provider = _RecordingProvider()
    telemetry.Observer(events=EventBus(), meter_provider=provider)
    webhook_metrics = WebhookMetrics(meter_provider=provider)
    webhook_metrics.observe_queue(cast(Any, object()))  # registers the queue gauges
    names: dict[str, str] = {}
    for kind, name, unit in provider.meter.instruments:
        for series in prometheus_names(kind, name, unit):
            names[series] = name
    return names


def labels_published() -> set[str]:
    """Label names: the library's attributes with dots as underscores, plus Prometheus's."""
    attrs = {getattr(telemetry, n) for n in telemetry.__all__ if n.startswith("ATTR_")}
    return {a.replace(".", "_") for a in attrs} | {"job", "instance", "le"}


# ---- reading the rules --------------------------------------------------------------------

_KEYWORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "le",
}


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (selectors, not labels or functions)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word = match.group(0)
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or word in _KEYWORDS:
            continue  # a function, or an operator keyword
        names.add(word)
    return names


def selector_labels(expr: str) -> set[str]:
    """The label names used in matchers and in by/on clauses."""
    found = set()
    for matchers in re.findall(r"\{([^}]*)\}", expr):
        found |= set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", matchers))
    for clause in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        found |= {n.strip() for n in clause.split(",") if n.strip()}
    return found


# ---- the tests ----------------------------------------------------------------------------


def test_metric_name_extraction() -> None:
    """The PromQL reader finds metric names and skips functions, labels and keywords."""
    expr = (
        'sum by (job, le) (rate(a_total{x="b_total"}[5m])) / on (job) c > 0.5 '
        "and histogram_quantile(0.9, d_bucket)"
    )
    assert metric_names(expr) == {"a_total", "c", "d_bucket"}
    assert selector_labels(expr) == {"job", "le", "x"}


def test_prometheus_spelling_of_the_library_metrics() -> None:
    """The library's metrics get the names telemetry.py documents."""
    names = emitted()
    assert names["maintainx_client_requests_total"] == "maintainx.client.requests"
    assert names["maintainx_client_errors_total"] == "maintainx.client.errors"
    assert "http_client_request_duration_seconds_bucket" in names
    assert "maintainx_client_breaker_state" in names
    assert "maintainx_client_fallback_served_total" in names
    assert set(telemetry.ALL_METRICS) <= set(names.values())
    assert names["webhook_failures_total"] == METRIC_WEBHOOK_FAILURES == "webhook_failures"
    assert "maintainx_webhook_queue_oldest_pending_age_seconds" in names


def test_rules_are_the_expected_alerts() -> None:
    """The file defines exactly the documented alerts, each with severity and runbook."""
    found = rules()
    assert {r["alert"] for r in found} == EXPECTED_ALERTS
    for rule in found:
        assert re.fullmatch(r"SEV[1-4]", rule["labels"]["severity"]), rule["alert"]
        assert re.fullmatch(r"RB-00[1-5]", rule["labels"]["runbook"]), rule["alert"]
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), rule["alert"]


def test_rules_use_only_metrics_the_library_emits() -> None:
    """Every metric and label an alert reads is one the library publishes."""
    published = emitted()
    labels = labels_published()
    for rule in rules():
        unknown = metric_names(rule["expr"]) - set(published)
        assert not unknown, f"{rule['alert']} reads metrics nobody publishes: {unknown}"
        assert selector_labels(rule["expr"]) <= labels, rule["alert"]


@needs_promtool
def test_promtool_check_rules() -> None:
    """promtool accepts the rule file."""
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


#: promtool unit tests of the rules (series selectors make long lines).
UNIT_TESTS = """
rule_files:
  - {rules}
evaluation_interval: 1m
tests:
  # 4 % errors: no alert. 6 % errors: MaintainXHighErrorRate only.
  - interval: 1m
    input_series:
      - series: 'maintainx_client_requests_total{{job="low"}}'
        values: '0+100x20'
      - series: 'maintainx_client_errors_total{{job="low"}}'
        values: '0+4x20'
      - series: 'maintainx_client_requests_total{{job="high"}}'
        values: '0+100x20'
      - series: 'maintainx_client_errors_total{{job="high"}}'
        values: '0+6x20'
    alert_rule_test:
      - eval_time: 15m
        alertname: MaintainXHighErrorRate
        exp_alerts:
          - exp_labels: {{job: high, severity: SEV3, runbook: RB-002}}
      - eval_time: 15m
        alertname: MaintainXErrorRateMajor
        exp_alerts: []
  # Too little traffic (1 attempt a minute, all failing) is not judged.
  - interval: 1m
    input_series:
      - series: 'maintainx_client_requests_total{{job="quiet"}}'
        values: '0+1x20'
      - series: 'maintainx_client_errors_total{{job="quiet"}}'
        values: '0+1x20'
    alert_rule_test:
      - eval_time: 15m
        alertname: MaintainXHighErrorRate
        exp_alerts: []
  # An open breaker alerts after a minute; an isolated one does not.
  - interval: 1m
    input_series:
      - series: 'maintainx_client_breaker_state{{job="a", maintainx_scope="api.getmaintainx.com", maintainx_breaker_state="open"}}'
        values: '1x5'
      - series: 'maintainx_client_breaker_state{{job="a", maintainx_scope="other", maintainx_breaker_state="isolated"}}'
        values: '1x5'
    alert_rule_test:
      - eval_time: 3m
        alertname: MaintainXCircuitOpen
        exp_alerts:
          - exp_labels: {{job: a, maintainx_scope: api.getmaintainx.com, severity: SEV2, runbook: RB-002}}
  # p95 of 2 s is slow; answers from the fallback cache are noticed.
  - interval: 1m
    input_series:
      - series: 'http_client_request_duration_seconds_bucket{{job="a", server_address="api.getmaintainx.com", le="1"}}'
        values: '0x30'
      - series: 'http_client_request_duration_seconds_bucket{{job="a", server_address="api.getmaintainx.com", le="2.5"}}'
        values: '0+10x30'
      - series: 'http_client_request_duration_seconds_bucket{{job="a", server_address="api.getmaintainx.com", le="+Inf"}}'
        values: '0+10x30'
      - series: 'maintainx_client_fallback_served_total{{job="a"}}'
        values: '0+3x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: MaintainXHighLatency
        exp_alerts:
          - exp_labels: {{job: a, severity: SEV3, runbook: RB-005}}
      - eval_time: 20m
        alertname: MaintainXFallbackServing
        exp_alerts:
          - exp_labels: {{job: a, severity: SEV3, runbook: RB-001}}
  # Webhook failures alert; a queue waiting 400 s is a backlog, one waiting 200 s is not.
  - interval: 1m
    input_series:
      - series: 'webhook_failures_total{{job="a", maintainx_webhook_stage="handler"}}'
        values: '0+2x30'
      - series: 'maintainx_webhook_queue_oldest_pending_age_seconds{{job="a"}}'
        values: '400x30'
      - series: 'maintainx_webhook_queue_oldest_pending_age_seconds{{job="b"}}'
        values: '200x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: MaintainXWebhookFailures
        exp_alerts:
          - exp_labels: {{job: a, severity: SEV3, runbook: RB-003}}
      - eval_time: 20m
        alertname: MaintainXWebhookBacklog
        exp_alerts:
          - exp_labels: {{job: a, severity: SEV3, runbook: RB-003}}
"""  # noqa: E501


@needs_promtool
def test_promtool_rule_unit_tests(tmp_path: Path) -> None:
    """The alerts fire at their thresholds and not below them (promtool test rules)."""
    assert PROMTOOL is not None
    # promtool compares annotations too: test the expressions and labels on a copy without.
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in data["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    bare = tmp_path / "rules.yml"
    bare.write_text(yaml.safe_dump(data), encoding="utf-8")
    spec = tmp_path / "alerts_test.yml"
    spec.write_text(textwrap.dedent(UNIT_TESTS).format(rules=bare), encoding="utf-8")
    done = subprocess.run(
        [PROMTOOL, "test", "rules", str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
