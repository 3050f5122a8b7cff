"""Diagnostics: health(), diagnose() under injected latency and an outage, the incident report.

Runs against the bundled MaintainX simulator, in process: no API key, no network (the
status page check is switched off, and DNS/TCP/TLS checks are skipped in process).
"""

from __future__ import annotations

from maintainx_resilient import MaintainXClient
from maintainx_resilient.diagnostics import (
    DiagnosticsConfig,
    EscalationContact,
    SeverityChange,
    Thresholds,
    health_endpoint,
    report_exit_code,
)
from maintainx_resilient.testing import Simulator


def page_on_call(change: SeverityChange) -> None:
    old = change.old.name if change.old else "none"
    new = change.new.name if change.new else "none"
    who = ", ".join(c.contact for c in change.escalation.contacts) if change.escalation else "-"
    print(f"  [on_severity_change] {old} -> {new} {list(change.codes)}; escalate to: {who}")


def diagnose(client: MaintainXClient, label: str) -> None:
    report = client.diagnose(deadline=3.0)
    sev = report.severity.name if report.severity else "no findings"
    codes = sorted({f.code for f in report.findings})
    print(f"{label}: {sev}, exit code {report_exit_code(report)}, {codes}")


def main() -> None:
    sim = Simulator(seed=9, work_orders=100, rate_limit=None)
    config = DiagnosticsConfig(
        thresholds=Thresholds(slow_latency=0.2),  # "slow" above 200 ms instead of 1 s
        contacts=(EscalationContact("On-call", "pagerduty:maintainx", "Automatic"),),
        on_severity_change=page_on_call,
        status_page_url=None,  # no internet here
    )
    with MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=sim.transport(),
        throttle=None,  # the simulator has no rate limit
        diagnostics=config,
    ) as client:
        for wo in client.work_orders.list(limit=20).items[:5]:
            client.work_orders.get(wo.id)
        health = client.health()
        status, _, body = health_endpoint(health)
        print(f"health: {health.status} -> /health answers {status} {body[:40]!r}...")
        diagnose(client, "all well")

        sim.faults.latency(0.3)  # every answer 300 ms late
        diagnose(client, "latency 300 ms")
        sim.faults.heal()

        sim.faults.outage()  # 503 to everything
        for wo_id in (1, 2, 3):  # traffic during the outage: stale answers, then fail fast
            client.work_orders.get(wo_id)
        during = client.health()
        print(f"health: {during.status}, {during.reasons[0]}")
        diagnose(client, "outage")
        client.enable_fallback_mode()  # the runbook's mitigation

        sim.faults.heal()
        client.disable_fallback_mode()
        client.close_breaker()
        client.reset_stats()
        diagnose(client, "recovered")
        client.incident.timeline.record_recovery("diagnosis clean")
        report = client.incident_report(
            title="MaintainX outage (example)", root_cause="Simulated 503 outage."
        )
    print(report)


if __name__ == "__main__":
    main()
