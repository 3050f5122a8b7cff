"""A client's mitigations in two layers: set by hand on this client, and set for the fleet.

The runbook's mitigations can come from two places: a method of this client
(``client.enable_fallback_mode()``: local, it never leaves the process) and the fleet
(``client.fleet.enable_fallback_mode()`` or ``maintainx-resilient fleet fallback on``: every
worker, through Redis). :class:`MitigationLayers` keeps both and applies what they ask for
together, the fleet's on top of the local one:

- fallback mode is on while either layer asks for it;
- the throttling cap is the lower of the two caps;
- a breaker is isolated while either layer holds it; a close by hand of one layer does not
  close a breaker the other still holds (it says so on the timeline).

Switching a fleet mitigation off gives back what the client had by hand. :meth:`apply_fleet`
takes what a heartbeat read and returns the changes it applied, for the incident timeline.
Thread-safe: the heartbeat thread and the application's threads may call it at once.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from typing import Any

from .._exceptions import ConfigurationError
from .._iso8601 import iso_utc
from ._link import finite
from ._mitigations import (
    FALLBACK_MODE,
    ISOLATED,
    THROTTLING,
    FleetMitigation,
    FleetView,
    MitigationState,
    check_scope,
)

__all__ = ["MitigationLayers"]


def _who(entry: FleetMitigation) -> str:
    reason = f": {entry.reason}" if entry.reason else ""
    return f"set for the fleet by {entry.by} at {iso_utc(entry.set_at)}{reason}"


class MitigationLayers:
    """The local and fleet layers of one client's mitigations, applied to its policies
    (``fallback``, ``throttle`` and ``breakers`` of :class:`~maintainx_resilient._pipeline.
    Policies`; a policy switched off is skipped, with a note)."""

    def __init__(self, policies: Any) -> None:
        self._policies = policies
        self._lock = threading.RLock()
        fallback, throttle = policies.fallback, policies.throttle
        self.local = MitigationState(
            fallback_mode=bool(fallback is not None and fallback.fallback_mode),
            throttle_per_minute=throttle.override_per_minute if throttle is not None else None,
        )
        self.fleet = MitigationState()
        #: The fleet's entries as last applied, by field.
        self.applied: dict[str, FleetMitigation] = {}
        self._joined = False

    # -- the local layer (the client's own methods) ----------------------------------------

    def fallback_mode(self, on: bool) -> str:
        """Set this client's own fallback mode; returns the timeline detail."""
        with self._lock:
            self.local = dataclasses.replace(self.local, fallback_mode=on)
            self._apply_fallback()
            if on:
                return "serving GETs from the cache"
            if self.fleet.fallback_mode:
                return "still on: fallback mode is set for the fleet" + self._by(FALLBACK_MODE)
            return "calling MaintainX again"

    def throttling(self, rate_per_minute: float | None) -> str:
        """Set (or, with None, remove) this client's own cap; returns the timeline detail."""
        if rate_per_minute is not None and not (finite(rate_per_minute) and rate_per_minute > 0):
            raise ConfigurationError(
                f"enable_throttling needs a positive requests-per-minute rate, got "
                f"{rate_per_minute!r}"
            )
        with self._lock:
            self.local = dataclasses.replace(self.local, throttle_per_minute=rate_per_minute)
            self._apply_throttle()
            fleet = self.fleet.throttle_per_minute
            if rate_per_minute is None:
                if fleet is not None:
                    return f"the fleet's cap of {fleet:g}/min still applies" + self._by(THROTTLING)
                return "rate cap removed"
            detail = f"capped at {rate_per_minute}/min"
            if fleet is not None and fleet < rate_per_minute:
                detail += f"; the fleet's lower cap of {fleet:g}/min applies"
            return detail

    def isolate(self, scope: str | None) -> str:
        """Hold this client's breaker(s) open by hand (a scope not of a breaker's form is a
        :class:`~maintainx_resilient.ConfigurationError`: it would isolate nothing)."""
        scope = check_scope(scope)
        with self._lock:
            if scope is None:
                self.local = dataclasses.replace(self.local, isolate_all=True)
            else:
                self.local = dataclasses.replace(self.local, isolated=self.local.isolated | {scope})
            self._policies.breakers.isolate(scope)
            return scope or "every scope"

    def close(self, scope: str | None) -> str:
        """Close this client's breaker(s) by hand, except those the fleet holds isolated."""
        scope = check_scope(scope)
        with self._lock:
            breakers, fleet = self._policies.breakers, self.fleet
            if scope is not None:
                self.local = dataclasses.replace(self.local, isolated=self.local.isolated - {scope})
                if fleet.holds(scope):
                    return f"{scope}: still isolated for the fleet" + self._by_scope(scope)
                breakers.close(scope)
                return scope
            self.local = dataclasses.replace(self.local, isolate_all=False, isolated=frozenset())
            if fleet.isolate_all:
                return "every scope: still isolated for the fleet" + self._by_scope(None)
            breakers.close(None)
            for held in sorted(fleet.isolated):
                breakers.isolate(held)
            kept = len(fleet.isolated)
            return "every scope" + (f" except {kept} isolated for the fleet" if kept else "")

    # -- the fleet layer (the heartbeat) ---------------------------------------------------

    def apply_fleet(self, view: FleetView) -> list[tuple[str, str]]:
        """Apply what the fleet asks now; returns ``(action, detail)`` per change applied.

        A corrupt field keeps what was applied from it before. On the first view (joining
        the fleet) a breaker "closed" order already there is not applied again: this
        client's breakers were not part of it.
        """
        with self._lock:
            entries = dict(view.entries)
            for name in view.corrupt:
                if name in self.applied:
                    entries[name] = self.applied[name]
            joining, self._joined = not self._joined, True
            self._adopt_local()
            old_entries = self.applied
            new = MitigationState.of(entries.values())
            self.applied, self.fleet = entries, new
            changes: list[tuple[str, str]] = []
            changed = sorted(
                (e for n, e in entries.items() if old_entries.get(n) != e),
                key=lambda e: e.set_at,
            )
            for entry in changed:
                if joining and not entry.active:
                    continue  # an "off" state, or an order this client was not part of
                note = self._apply_entry(entry, new)
                detail = f"{entry.describe()}; {_who(entry)}{note}"
                changes.append((f"fleet {entry.action}", detail))
            for name in sorted(set(old_entries) - set(entries)):
                note = self._release(old_entries[name], new)
                gone = old_entries[name]
                if gone.active:
                    detail = f"{gone.describe()} removed from Redis{note}"
                    changes.append((f"fleet cleared {gone.name}", detail))
            return changes

    def _apply_entry(self, entry: FleetMitigation, new: MitigationState) -> str:
        if entry.name == FALLBACK_MODE:
            return self._apply_fallback()
        if entry.name == THROTTLING:
            return self._apply_throttle()
        breakers = self._policies.breakers
        if breakers is None:
            return " (not applied: this client's circuit breaker is off, breaker=None)"
        scope = entry.scope
        if entry.value == ISOLATED:
            breakers.isolate(scope)
            return ""
        # a "closed" order: close by hand, except what this client holds by hand
        if scope is not None:
            if self.local.holds(scope):
                return " (kept isolated: isolated by hand on this client)"
            breakers.close(scope)
            return ""
        breakers.close(None)
        self._hold_again(new)
        return " (except breakers isolated by hand on this client)" if self._local_holds() else ""

    def _release(self, gone: FleetMitigation, new: MitigationState) -> str:
        """A field vanished from Redis: undo what it asked for."""
        if gone.name == FALLBACK_MODE:
            return self._apply_fallback()
        if gone.name == THROTTLING:
            return self._apply_throttle()
        breakers = self._policies.breakers
        if breakers is None or gone.value != ISOLATED:
            return ""
        scope = gone.scope
        if scope is None:
            if not self.local.isolate_all and not new.isolate_all:
                breakers.close(None)
                self._hold_again(new)
        elif not self.local.holds(scope) and not new.holds(scope):
            breakers.close(scope)
        return ""

    def _hold_again(self, fleet: MitigationState) -> None:
        """After closing every breaker: isolate again what either layer holds."""
        breakers = self._policies.breakers
        if self.local.isolate_all or fleet.isolate_all:
            breakers.isolate(None)
            return
        for scope in sorted(self.local.isolated | fleet.isolated):
            breakers.isolate(scope)

    def _local_holds(self) -> bool:
        return self.local.isolate_all or bool(self.local.isolated)

    # -- applying the two layers together --------------------------------------------------

    def _adopt_local(self) -> None:
        """What was set on a policy directly (not through the client's methods) while the
        fleet asked for nothing counts as set by hand."""
        policies, fleet = self._policies, self.fleet
        fallback, throttle = policies.fallback, policies.throttle
        if fallback is not None and not fleet.fallback_mode:
            self.local = dataclasses.replace(self.local, fallback_mode=fallback.fallback_mode)
        if throttle is not None and fleet.throttle_per_minute is None:
            self.local = dataclasses.replace(
                self.local, throttle_per_minute=throttle.override_per_minute
            )

    def _apply_fallback(self) -> str:
        policy = self._policies.fallback
        want = self.local.fallback_mode or self.fleet.fallback_mode
        if policy is None:
            return " (not applied: no fallback cache on this client, fallback=None)" if want else ""
        if want and not policy.fallback_mode:
            policy.enable_fallback_mode()
        elif not want and policy.fallback_mode:
            policy.disable_fallback_mode()
        if not self.fleet.fallback_mode and self.local.fallback_mode:
            return " (still on: set by hand on this client)"
        return ""

    def _apply_throttle(self) -> str:
        policy = self._policies.throttle
        caps = [c for c in (self.local.throttle_per_minute, self.fleet.throttle_per_minute) if c]
        want = min(caps) if caps else None
        if policy is None:
            return " (not applied: this client's throttle is off, throttle=None)" if want else ""
        if want != policy.override_per_minute:
            if want is None:
                policy.disable_override()
            else:
                policy.enable_throttling(want)
        local = self.local.throttle_per_minute
        if local is not None and want == local and local != self.fleet.throttle_per_minute:
            return f" (this client's own cap of {local:g}/min applies: it is lower)"
        return ""

    def _by(self, name: str) -> str:
        entry = self.applied.get(name)
        return f" ({_who(entry)})" if entry is not None else ""

    def _by_scope(self, scope: str | None) -> str:
        held: Mapping[str, FleetMitigation] = self.applied
        for entry in held.values():
            if entry.value == ISOLATED and (entry.scope is None or entry.scope == scope):
                return f" ({_who(entry)})"
        return ""

    def __repr__(self) -> str:
        return f"MitigationLayers(local={self.local}, fleet={self.fleet})"
