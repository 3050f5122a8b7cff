"""Benchmark: webhook verify + durable enqueue, against the cost of the HMAC alone.

Measured in the same run, on a realistic NEW_WORK_ORDER payload (~500 bytes):

- baseline: one HMAC-SHA256 of ``"t." + body`` (what any verification must pay);
- verify: both signatures checked (body and URI), as the receiver does;
- verify + enqueue, one delivery at a time (``WebhookReceiver.handle``): the acknowledgement
  time MaintainX would see, minus the network, for SQLite with ``synchronous=FULL`` (the
  default: fsync before 2xx), SQLite ``NORMAL``, and Redis Streams;
- verify + enqueue, ``--concurrency`` deliveries in flight (``WebhookReceiver.ahandle``,
  group commit: concurrent deliveries share one transaction and one fsync);
- the same over a real socket (the ASGI app under the small local server, a minimal
  keep-alive HTTP/1.1 client), for the default store, one delivery at a time and
  ``--concurrency`` at once.

Prints events/s, p50 and p99 acknowledgement time, and each throughput as a fraction of the
HMAC-alone rate. MaintainX times out after 10 s; the target for p99 is under 50 ms.

    python bench/bench_webhooks.py [--events 2000] [--concurrency 64] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from maintainx_resilient.webhooks import (
    LocalServer,
    SqliteQueue,
    WebhookApp,
    WebhookQueue,
    WebhookReceiver,
    WebhookRoute,
    verify_delivery,
)
from maintainx_resilient.webhooks.queue.redis import RedisQueue
from maintainx_resilient.webhooks.queue.sqlite import Synchronous

SECRET = "bench-secret-0123456789abcdef"
BASE = "http://127.0.0.1"
PATH = "/webhooks/maintainx/wo"


@dataclass
class Result:
    name: str
    samples: list[float]
    wall: float

    @property
    def rate(self) -> float:
        return len(self.samples) / self.wall if self.wall else float("inf")

    def pct(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def body_for(n: int) -> bytes:
    data = {
        "workOrderId": 100_000 + n,
        "orgId": 321,
        "occurredAt": f"2025-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000:03d}Z",
        "newWorkOrder": {
            "title": f"Replace conveyor belt on line {n % 7}",
            "description": "Belt frayed near the motor; replace and re-tension.",
            "priority": "HIGH",
            "assigneeIds": [12, 31],
            "teamIds": [4],
            "categories": [{"id": 3, "name": "Mechanical"}],
            "locationId": 852,
            "assetId": 42,
            "extraFields": {"Third Party Id": "aa674f49-dac6-4f15-9fdd-061d2b5caf30"},
            "vendorIds": [],
            "parts": [],
        },
    }
    return json.dumps(data, separators=(",", ":")).encode()


def headers_for(body: bytes, url: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    uri = hmac.new(SECRET.encode(), stamp.encode() + b"." + url.encode(), hashlib.sha256)
    return {
        "x-maintainx-webhook-body-signature": f"t={stamp},v1={sig}",
        "x-maintainx-webhook-uri-signature": f"t={stamp},v1={uri.hexdigest()}",
    }


def timed(name: str, fn: Callable[[int], object], n: int) -> Result:
    for i in range(min(200, n)):
        fn(-1 - i)  # warm up (negative numbers: distinct events, never measured)
    gc.collect()
    samples: list[float] = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - t0)
    return Result(name, samples, time.perf_counter() - start)


async def timed_async(
    name: str, fn: Callable[[int], Awaitable[object]], n: int, concurrency: int
) -> Result:
    samples: list[float] = []
    next_index = 0

    async def lane() -> None:
        nonlocal next_index
        while next_index < n:
            i = next_index
            next_index += 1
            t0 = time.perf_counter()
            await fn(i)
            samples.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return Result(name, samples, time.perf_counter() - start)


def make_receiver(queue: WebhookQueue, url: str | None = BASE + PATH) -> WebhookReceiver:
    route = WebhookRoute.create("wo", "NEW_WORK_ORDER", [SECRET], url=url)
    return WebhookReceiver(queue, [route])


def store_runs(
    label: str, queue: WebhookQueue, n: int, concurrency: int, offset: int
) -> list[Result]:
    receiver = make_receiver(queue)
    url = BASE + PATH
    prepared = {
        i: (body_for(offset + i), headers_for(body_for(offset + i), url)) for i in range(-200, n)
    }

    def one(i: int) -> None:
        body, headers = prepared[i]
        answer = receiver.handle("POST", url, headers, body)
        assert answer.status == 200, answer

    sequential = timed(f"verify + enqueue, {label}, 1 at a time", one, n)
    concurrent_prepared = {
        i: (body_for(offset + n + i), headers_for(body_for(offset + n + i), url)) for i in range(n)
    }

    async def one_async(i: int) -> None:
        body, headers = concurrent_prepared[i]
        answer = await receiver.ahandle("POST", url, headers, body)
        assert answer.status == 200, answer

    concurrent = asyncio.run(
        timed_async(
            f"verify + enqueue, {label}, {concurrency} in flight",
            one_async,
            n,
            concurrency,
        )
    )
    receiver.close()
    return [sequential, concurrent]


async def post_raw(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, body: bytes, url: str
) -> int:
    """One keep-alive HTTP/1.1 POST on a raw connection (httpx's async pool, not the receiver,
    is the bottleneck at 64 connections, so the socket rows use this minimal client)."""
    head = [f"POST {path} HTTP/1.1", "host: " + url.split("/")[2], f"content-length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers_for(body, url).items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


def socket_run(queue: WebhookQueue, n: int, concurrency: int) -> list[Result]:
    receiver = make_receiver(queue, url=None)  # the URI signature matches the request's URL
    results = []
    with LocalServer(WebhookApp(receiver)) as server:
        url = server.url + PATH

        async def run(lanes: int, offset: int) -> Result:
            connections = [
                await asyncio.open_connection(server.host, server.port) for _ in range(lanes)
            ]
            free = list(connections)

            async def one(i: int) -> None:
                reader, writer = free.pop()
                try:
                    status = await post_raw(reader, writer, PATH, body_for(offset + i), url)
                finally:
                    free.append((reader, writer))
                assert status == 200, status

            try:
                return await timed_async(
                    f"POST over a socket, sqlite FULL, {lanes} in flight", one, n, lanes
                )
            finally:
                for _, writer in connections:
                    writer.close()

        results.append(asyncio.run(run(1, 5_000_000)))
        results.append(asyncio.run(run(concurrency, 6_000_000)))
    receiver.close()
    return results


def redis_queue(url: str) -> RedisQueue | None:
    queue = RedisQueue(url, prefix=f"mxbench:{uuid.uuid4().hex}")
    if not queue.ping():
        queue.close()
        return None
    return queue


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("MAINTAINX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    )
    args = parser.parse_args()
    n: int = args.events
    results: list[Result] = []

    body = body_for(1)
    url = BASE + PATH
    headers = headers_for(body, url)
    stamp = headers["x-maintainx-webhook-body-signature"].split(",")[0][2:]
    key = SECRET.encode()
    message = stamp.encode() + b"." + body
    baseline = timed(
        "baseline: HMAC-SHA256 alone",
        lambda i: hmac.new(key, message, hashlib.sha256).hexdigest(),
        n,
    )
    results.append(baseline)
    now = time.time()
    results.append(
        timed(
            "verify (body + URI signatures)",
            lambda i: verify_delivery(headers, body, [SECRET], now=now, uris=[url]),
            n,
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        runs: list[tuple[str, Synchronous, int]] = [
            ("sqlite FULL (default)", "FULL", 0),
            ("sqlite NORMAL", "NORMAL", 1_000_000),
        ]
        for label, sync, offset in runs:
            queue = SqliteQueue(Path(tmp) / f"{sync}.db", synchronous=sync)
            results += store_runs(label, queue, n, args.concurrency, offset)
            queue.close()
        queue = SqliteQueue(Path(tmp) / "socket.db")
        results += socket_run(queue, n, args.concurrency)
        queue.close()
    rq = redis_queue(args.redis_url)
    if rq is None:
        print(f"(Redis at {args.redis_url} unreachable: Redis rows skipped)")
    else:
        try:
            results += store_runs("redis streams", rq, n, args.concurrency, 2_000_000)
        finally:
            rq.clear()
            rq.close()

    print(f"\n{n} events per row; acknowledgement time = verify + durable enqueue\n")
    print(f"{'':58} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs HMAC':>9}")
    for result in results:
        share = result.rate / baseline.rate
        print(
            f"{result.name:58} {result.rate:10.0f} {result.pct(0.50):8.3f} "
            f"{result.pct(0.99):8.3f} {share:9.4f}"
        )
    mean = statistics.mean(baseline.samples) * 1e6
    print(f"\nHMAC alone: {mean:.1f} us per event. MaintainX's delivery timeout: 10 000 ms.")


if __name__ == "__main__":
    main()
