"""The asyncio client: the same calls, awaited; ``async for`` over every page; gather.

Runs against the bundled MaintainX simulator, in process: no API key, no network.
"""

from __future__ import annotations

import asyncio

from maintainx_resilient import AsyncMaintainXClient
from maintainx_resilient.testing import Simulator


async def main() -> None:
    # No rate limit in this simulator, so the client's throttle is off to keep this fast.
    sim = Simulator(seed=2, work_orders=150, rate_limit=None)
    async with AsyncMaintainXClient(
        api_key=Simulator.API_KEY, transport=sim.transport(), throttle=None
    ) as client:
        page = await client.work_orders.list(limit=10, sort="-updatedAt")
        print(f"latest updated: #{page.items[0].id} {page.items[0].title!r}")

        by_status: dict[str, int] = {}
        async for wo in client.work_orders.iter(limit=50):
            by_status[str(wo.status)] = by_status.get(str(wo.status), 0) + 1
        print(f"work orders by status: {dict(sorted(by_status.items()))}")

        # Ten concurrent GETs share one connection pool and one set of policies.
        ids = [wo.id for wo in page.items]
        fetched = await asyncio.gather(*(client.work_orders.get(i) for i in ids))
        print(f"fetched {len(fetched)} work orders concurrently: {[wo.id for wo in fetched]}")

        new_id = await client.work_orders.create(title="Check pump seal", priority="MEDIUM")
        await client.work_orders.set_status(new_id, "IN_PROGRESS")
        await client.work_orders.add_comment(new_id, "Seal replaced, monitoring")
        comments = [c async for c in client.work_orders.comments(new_id)]
        print(f"created #{new_id}, now IN_PROGRESS with {len(comments)} comment(s)")
        await client.work_orders.delete(new_id)
        print(f"deleted #{new_id}")


if __name__ == "__main__":
    asyncio.run(main())
