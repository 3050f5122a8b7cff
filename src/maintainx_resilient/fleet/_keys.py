"""The names of everything fleet mode keeps in Redis, in one place.

Every key starts ``mx:{<fleet name>}:``. The braces are a Redis Cluster hash tag: all keys of
one fleet live in one slot, so every multi-key transaction and script works on a cluster.
Nothing in a key is secret: scopes name keys by fingerprint, cache entries by a credential id
(a one-way hash) and the organization.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FleetKeys"]


@dataclass(frozen=True)
class FleetKeys:
    name: str

    @property
    def prefix(self) -> str:
        return f"mx:{{{self.name}}}:"

    def throttle(self, scope: str) -> str:
        """One throttle scope's state (JSON)."""
        return f"{self.prefix}throttle:{scope}"

    @property
    def throttle_index(self) -> str:
        """The set of throttle scopes that have state."""
        return f"{self.prefix}throttle"

    def breaker(self, scope: str) -> str:
        """One breaker scope's state (JSON)."""
        return f"{self.prefix}breaker:{scope}"

    @property
    def breaker_index(self) -> str:
        """The set of breaker scopes that have state."""
        return f"{self.prefix}breaker"

    @property
    def breakers_isolated(self) -> str:
        """Set while every breaker scope is isolated by hand (JSON: when, by whom)."""
        return f"{self.prefix}breakers:isolated"

    def probe(self, scope: str) -> str:
        """The fleet-wide claim on a half-open breaker's probe."""
        return f"{self.prefix}probe:{scope}"

    def cache(self, key: str) -> str:
        """One shared fallback cache entry (JSON; ``key``: 32 hex digits, a hash of the
        cache's key, so it never equals the names below)."""
        return f"{self.prefix}cache:{key}"

    @property
    def cache_index(self) -> str:
        """The shared cache's entries by age (sorted set; score: stored at)."""
        return f"{self.prefix}cache"

    @property
    def cache_sizes(self) -> str:
        """The shared cache's entry sizes (hash)."""
        return f"{self.prefix}cache:sizes"

    @property
    def cache_paths(self) -> str:
        """The shared cache's entries by credential and path (sorted set, all scores 0: in
        lexical order, so a write finds what it makes wrong by range)."""
        return f"{self.prefix}cache:paths"

    @property
    def cache_bytes(self) -> str:
        """The shared cache's total size (an integer)."""
        return f"{self.prefix}cache:bytes"

    @property
    def mitigations(self) -> str:
        """The fleet-wide mitigations (hash: name -> JSON)."""
        return f"{self.prefix}mitigations"

    @property
    def workers(self) -> str:
        """Worker heartbeats (sorted set; score: last beat, Unix time)."""
        return f"{self.prefix}workers"

    @property
    def timeline(self) -> str:
        """The fleet's incident timeline (a capped list of JSON entries)."""
        return f"{self.prefix}timeline"
