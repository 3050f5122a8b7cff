"""Who this process is, in the fleet's records."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass

__all__ = ["Member"]


@dataclass(frozen=True)
class Member:
    """Who this process is, in the fleet's records (timeline entries, heartbeats)."""

    host: str
    pid: int
    #: tells apart two clients of one process
    nonce: str

    @property
    def id(self) -> str:
        return f"{self.host}:{self.pid}:{self.nonce}"

    @classmethod
    def this_process(cls) -> Member:
        return cls(socket.gethostname()[:64], os.getpid(), secrets.token_hex(3))
