"""Telemetry: OpenTelemetry spans per attempt, metrics, and redacted log lines.

The library depends on ``opentelemetry-api`` only (a no-op until an SDK is installed). This
example installs the SDK's in-memory exporters to print what an exporter would receive;
without ``opentelemetry-sdk`` (``pip install opentelemetry-sdk``) it says so and exits.
Runs against the bundled MaintainX simulator, in process: no API key, no network.
"""

from __future__ import annotations

import logging
import sys

from maintainx_resilient import MaintainXClient
from maintainx_resilient.testing import Simulator

try:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
except ImportError:
    MeterProvider = None  # type: ignore[assignment,misc]


def main() -> None:
    if MeterProvider is None:
        print("opentelemetry-sdk is not installed: skipping (pip install opentelemetry-sdk)")
        return
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    # The library logs to "maintainx_resilient" (retries at INFO); keys appear as fingerprints.
    logging.basicConfig(stream=sys.stdout, format="  log %(levelname)s %(message)s")
    logging.getLogger("maintainx_resilient").setLevel(logging.INFO)

    sim = Simulator(seed=8, work_orders=30, rate_limit=None)
    with MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=sim.transport(),
        throttle=None,  # the simulator has no rate limit
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    ) as client:
        client.work_orders.list(limit=5)
        sim.faults.fail_next(1, status=503)  # one retry, so one resend
        client.work_orders.get(4)
        # The library's logger masks bearer tokens and the client's keys, whoever logs them.
        logging.getLogger("maintainx_resilient").warning("sent Bearer %s", Simulator.API_KEY)

    print("spans (one per attempt):")
    for span in spans.get_finished_spans():
        attrs = span.attributes or {}
        print(
            f"  {span.name}: status={attrs.get('http.response.status_code')} "
            f"resend_count={attrs.get('http.request.resend_count', 0)} "
            f"url={attrs.get('url.full')}"
        )
    print("metrics:")
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points = list(metric.data.data_points)
                total = sum(getattr(p, "value", getattr(p, "count", 0)) for p in points)
                print(f"  {metric.name}: {total} over {len(points)} series")


if __name__ == "__main__":
    main()
