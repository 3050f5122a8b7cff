"""Paired rounds, shared by the benchmarks that compare contenders against a baseline.

Each round runs every contender back to back, in an order that rotates (:func:`rotation`),
and a contender's ratio is taken round by round against the baseline's time in the same
round (:func:`paired`): load that drifts over seconds on a shared machine moves both halves
of a pair alike, so the median of the rounds' ratios moves less than either time does.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def rotation(names: Sequence[str], round_: int) -> list[str]:
    """``names`` in the order of round ``round_``: each round another one goes first."""
    shift = round_ % len(names)
    return [*names[shift:], *names[:shift]]


def paired(times: Sequence[float], base: Sequence[float], label: str) -> float:
    """Print and return the median of ``times[i] / base[i]`` over the rounds, with quartiles."""
    ratios = [t / b for t, b in zip(times, base, strict=True)]
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    ratio = statistics.median(ratios)
    print(
        f"paired wall ratio, {label}, per round: median {ratio:.3f}x "
        f"(quartiles {q[0]:.3f}x-{q[2]:.3f}x over {len(ratios)} rounds)"
    )
    return ratio
