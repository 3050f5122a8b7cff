"""Key rotation: the key is revoked mid-run; one rotate(), no failed call, fingerprints only.

Runs against the bundled MaintainX simulator, in process: no API key, no network. The
KeyProvider stands in for a secret manager holding the next key.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from maintainx_resilient import (
    AuthenticationError,
    Event,
    KeyRotated,
    MaintainXClient,
)
from maintainx_resilient.testing import Simulator


class SecretManagerKeys:
    """A KeyProvider: ``get()`` the key to use, ``rotate(failed)`` the next one after a 401."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = keys
        self._lock = threading.Lock()
        self.rotations = 0

    def get(self) -> str:
        return self._keys[0]

    def rotate(self, failed: str) -> str:
        with self._lock:
            self.rotations += 1
            if failed in self._keys:
                self._keys.remove(failed)
            # Returning the failed key gives up: the 401 reaches the caller.
            return self._keys[0] if self._keys else failed


def show_rotation(event: Event) -> None:
    if isinstance(event, KeyRotated):
        old, new = event.old_fingerprint, event.new_fingerprint
        print(f"  key rotated after a {event.reason}: {old} -> {new}")


def main() -> None:
    sim = Simulator(seed=7, work_orders=50, rate_limit=None)
    sim.add_key("key-2025-blue")
    sim.add_key("key-2025-green")
    keys = SecretManagerKeys(["key-2025-blue", "key-2025-green"])
    # The throttle is off because the simulator has no rate limit.
    with MaintainXClient(
        api_key=keys, transport=sim.transport(), throttle=None, hooks=[show_rotation]
    ) as client:
        print(f"client {client!r}")

        def read(i: int) -> int:
            if i == 20:
                sim.revoke_key("key-2025-blue")  # revoked while 8 threads are busy
            return client.work_orders.get(1 + i % 40).id

        with ThreadPoolExecutor(8) as pool:
            done = list(pool.map(read, range(60)))
        print(
            f"{len(done)} calls succeeded; rotate() called {keys.rotations} time(s); "
            f"401s seen by the simulator: {sim.stats.by_status.get(401, 0)}"
        )

        print("the second key is revoked too, and there is no third:")
        sim.revoke_key("key-2025-green")
        try:
            client.work_orders.get(1)
        except AuthenticationError as exc:
            print(f"  {type(exc).__name__} {exc.status_code}: {exc.message}")


if __name__ == "__main__":
    main()
