"""Quickstart: list, iterate, get, create, update, set status and delete work orders.

Runs against the bundled MaintainX simulator, in process: no API key, no network. Against
MaintainX itself, drop ``api_key=`` and ``transport=`` and set ``MAINTAINX_API_KEY``.
"""

from __future__ import annotations

from maintainx_resilient import MaintainXClient, NotFoundError
from maintainx_resilient.testing import Simulator


def main() -> None:
    # A small simulated organization. It has no rate limit here, so the client's throttle
    # (which paces calls at MaintainX's 100 requests / 60 s) is switched off to keep this fast.
    sim = Simulator(seed=1, work_orders=120, rate_limit=None)
    with MaintainXClient(
        api_key=Simulator.API_KEY, transport=sim.transport(), throttle=None
    ) as client:
        page = client.work_orders.list(statuses=["OPEN", "IN_PROGRESS"], limit=5)
        print(
            f"one page: {len(page.items)} open or in-progress work orders, "
            f"more pages: {page.has_more}"
        )
        for wo in page.items:
            print(f"  #{wo.id} {wo.status} {wo.priority} {wo.title!r}")

        # iter() follows nextCursor with the same filters, one page in memory at a time.
        high = sum(1 for _ in client.work_orders.iter(priorities=["HIGH"], limit=50))
        total = sum(1 for _ in client.work_orders.iter(limit=50))
        print(f"iterated {total} work orders, {high} of them HIGH priority")

        new_id = client.work_orders.create(title="Replace belt on line 3", priority="HIGH")
        print(f"created work order #{new_id}")
        updated = client.work_orders.update(new_id, description="Belt frayed near roller 4")
        print(f"updated: description={updated.description!r}")
        done = client.work_orders.set_status(new_id, "DONE")
        print(f"status now {done.status}")
        client.work_orders.delete(new_id)
        try:
            client.work_orders.get(new_id)
        except NotFoundError as exc:
            print(f"deleted: get -> {type(exc).__name__} ({exc.status_code})")


if __name__ == "__main__":
    main()
