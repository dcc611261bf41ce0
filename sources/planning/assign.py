"""Randomised rollout order in waves, stratified by business unit and size.

Pure logic, no warehouse: the CLI (orchestration/plan_rollout.py) reads each unit's baseline
volume and passes it here. See docs/method.md, "Rollout design and pre-registration".
"""

from __future__ import annotations

import random
from dataclasses import dataclass


class PlanningError(ValueError):
    """A rollout cannot be planned as asked; the message says what to change."""


@dataclass(frozen=True)
class Candidate:
    unit_id: str
    business_unit: str
    volume: float  # baseline volume (sum of weights, or observations), the size measure


@dataclass(frozen=True)
class Assignment:
    seed: int
    strata: dict[str, tuple[str, ...]]  # stratum -> unit ids (sorted)
    waves: tuple[tuple[str, ...], ...]  # wave k -> unit ids (sorted)

    def wave_of(self) -> dict[str, int]:
        return {u: k for k, wave in enumerate(self.waves) for u in wave}


def size_strata(candidates: list[Candidate], n_size_buckets: int) -> dict[str, tuple[str, ...]]:
    """Stratum `<business unit>/size-<b>of<n>`: within each business unit, units ranked by volume
    (ties by id) and cut into n equal-count buckets (1 = smallest). A business unit with fewer
    units than buckets gets as many buckets as units."""
    if n_size_buckets < 1:
        raise PlanningError(f"size buckets must be at least 1, got {n_size_buckets}")
    by_bu: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_bu.setdefault(c.business_unit, []).append(c)
    strata: dict[str, list[str]] = {}
    for bu, members in sorted(by_bu.items()):
        ranked = sorted(members, key=lambda c: (c.volume, c.unit_id))
        n = len(ranked)
        k = min(n_size_buckets, n)
        for rank, c in enumerate(ranked):
            bucket = rank * k // n + 1
            strata.setdefault(f"{bu}/size-{bucket}of{k}", []).append(c.unit_id)
    return {name: tuple(sorted(units)) for name, units in sorted(strata.items())}


def assign_waves(
    candidates: list[Candidate], n_waves: int, seed: int, n_size_buckets: int = 2
) -> Assignment:
    """Shuffle each stratum with the seed and deal its units to the waves in turn.

    The dealing cursor carries on from one stratum to the next (strata in a seeded order, from
    a seeded wave), so every wave gets floor or ceil of n_s / n_waves units of each stratum s
    and the wave sizes differ by at most one. The same seed and candidates give the same plan.
    """
    ids = [c.unit_id for c in candidates]
    if len(set(ids)) != len(ids):
        dup = sorted({u for u in ids if ids.count(u) > 1})
        raise PlanningError(f"candidate units listed twice: {', '.join(dup)}")
    if n_waves < 1:
        raise PlanningError(f"waves must be at least 1, got {n_waves}")
    if len(candidates) < 2 * n_waves:
        raise PlanningError(
            f"{len(candidates)} candidate units cannot fill {n_waves} waves of at least 2 units "
            "(a cohort needs 2 treated units to be measured): use fewer waves"
        )
    strata = size_strata(candidates, n_size_buckets)
    rng = random.Random(seed)
    order = list(strata)
    rng.shuffle(order)
    cursor = rng.randrange(n_waves)
    waves: list[list[str]] = [[] for _ in range(n_waves)]
    for name in order:
        units = list(strata[name])
        rng.shuffle(units)
        for unit in units:
            waves[cursor].append(unit)
            cursor = (cursor + 1) % n_waves
    return Assignment(seed, strata, tuple(tuple(sorted(w)) for w in waves))


def imbalance(assignment: Assignment) -> int:
    """Largest difference, over strata, between two waves' counts of the stratum's units."""
    wave_of = assignment.wave_of()
    worst = 0
    for units in assignment.strata.values():
        counts = [0] * len(assignment.waves)
        for u in units:
            counts[wave_of[u]] += 1
        worst = max(worst, max(counts) - min(counts))
    return worst
