"""The receiver as a plain ASGI app, exercised in process with ``httpx.ASGITransport``.

Mount the same ``app`` in FastAPI or Starlette (``api.mount("/webhooks/maintainx", app)``) or
serve it with uvicorn (``uvicorn module:app``); see docs/webhooks/receiving.md.

    python examples/webhooks_asgi.py
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx

from maintainx_resilient.webhooks import (
    SqliteQueue,
    WebhookApp,
    WebhookReceiver,
    WebhookRoute,
    sign_header,
)

SECRET = "example-secret"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        queue = SqliteQueue(Path(tmp) / "webhooks.db")
        route = WebhookRoute.create("status", "WORK_ORDER_STATUS_CHANGE", [SECRET])
        receiver = WebhookReceiver(queue, [route])
        app = WebhookApp(receiver)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://hooks.example") as c:
            print("health:", (await c.get("/webhooks/maintainx/health")).json())
            body = json.dumps(
                {"workOrderId": 7, "orgId": 1, "oldStatus": "OPEN", "newStatus": "DONE"}
            ).encode()
            url = "https://hooks.example/webhooks/maintainx/status"
            stamp = int(time.time())
            headers = {
                "x-maintainx-webhook-body-signature": sign_header(SECRET, stamp, body),
                "x-maintainx-webhook-uri-signature": sign_header(SECRET, stamp, url.encode()),
            }
            for attempt in ("first delivery", "redelivery"):
                answer = await c.post("/webhooks/maintainx/status", content=body, headers=headers)
                print(f"{attempt}: {answer.status_code} {answer.json()}")
            forged = await c.post(
                "/webhooks/maintainx/status",
                content=body.replace(b"DONE", b"OPEN"),
                headers=headers,
            )
            print(f"tampered body: {forged.status_code} {forged.json()}")
        print("stored:", queue.stats().to_dict())
        receiver.close()
        queue.close()


if __name__ == "__main__":
    asyncio.run(main())
