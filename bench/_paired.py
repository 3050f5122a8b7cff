"""Paired rounds, shared by the benchmarks that compare contenders against a baseline.

Each round runs every contender back to back, in an order that rotates (:func:`rotation`),
and a contender's ratio is taken round by round against the baseline's time in the same
round (:func:`paired`): load that drifts over seconds on a shared machine moves both halves
of a pair alike, so the median of the rounds' ratios moves less than either time does.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence


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


#: How a table reduces a contender's rounds: their median, and the least (timeit's rule:
#: other work on the machine only ever adds time, so the fastest round is the closest to
#: what the code itself costs).
PICKS: tuple[tuple[str, Callable[[Iterable[float]], float]], ...] = (
    ("median", statistics.median),
    ("least", min),
)


def rounds_table(
    runs: Mapping[str, Sequence[Sequence[float]]],
    base: str,
    label: str,
    pick: Callable[[Iterable[float]], float],
    *,
    unit: str,
    scale: float,
) -> dict[str, float]:
    """Print each contender's wall and CPU time (``(wall, cpu, ...)`` per round, in seconds,
    shown times ``scale`` in ``unit``) reduced by ``pick``, and both as ratios to ``base``'s;
    return the wall ratios."""
    width = max(len(name) for name in runs) + 2
    base_wall = pick(r[0] for r in runs[base])
    base_cpu = pick(r[1] for r in runs[base])
    header = (f"{label} of rounds", f"wall {unit}", f"cpu {unit}", "wall x", "cpu x")
    print(f"\n{header[0]:{width}} {header[1]:>9} {header[2]:>9} {header[3]:>7} {header[4]:>7}")
    ratios: dict[str, float] = {}
    for name, rows in runs.items():
        wall, cpu = pick(r[0] for r in rows), pick(r[1] for r in rows)
        ratios[name] = wall / base_wall
        print(
            f"{name:{width}} {wall * scale:>9.2f} {cpu * scale:>9.2f}"
            f" {wall / base_wall:>7.2f} {cpu / base_cpu:>7.2f}"
        )
    return ratios
