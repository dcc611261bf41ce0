"""Adoption from the AI platform: weekly (Monday) active and eligible users per rollout unit.

Eligible users follow the unit's size; the active share follows the scenario's logistic curve
from go-live. Active users are binomial draws from the eligible ones, so active <= eligible.
Vectorised over rollout entries x the Mondays of one month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sources.portfolio.registry import TERMINAL_STAGE
from sources.sample.scaling import Scaled
from sources.sample.scenario import Adoption

DEFAULT_UNIT_SIZE = 50
ELIGIBLE_JITTER = 0.02  # weekly relative variation of eligible users (joiners, leavers)

ADOPTION_SCHEMA = pa.schema(
    [
        ("initiative_id", pa.string()),
        ("unit_id", pa.string()),
        ("observed_on", pa.date32()),
        ("active_users", pa.int64()),
        ("eligible_users", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Rollouts:
    """All rollout entries as parallel arrays; days are indices since the data start."""

    initiative_ids: np.ndarray
    unit_ids: np.ndarray
    go_live: np.ndarray
    stop: np.ndarray  # last day with adoption data (data end or kill date)
    size: np.ndarray
    plateau: np.ndarray
    midpoint: np.ndarray
    width: np.ndarray


def rollouts(scaled: Scaled, adoption: Adoption, days: int) -> Rollouts:
    reg = scaled.registry
    start = reg.portfolio.data_starts_on
    size = {u.unit_id: u.size or DEFAULT_UNIT_SIZE for u in reg.units}
    columns: dict[str, list] = {name: [] for name in Rollouts.__dataclass_fields__}
    for ini in reg.initiatives:
        curve = adoption.curve(scaled.initiative_origin[ini.initiative_id])
        killed = ini.stages.get(TERMINAL_STAGE)
        stop = min(days - 1, (killed - start).days) if killed else days - 1
        for r in ini.rollout:
            row = {
                "initiative_ids": ini.initiative_id,
                "unit_ids": r.unit_id,
                "go_live": (r.go_live - start).days,
                "stop": stop,
                "size": size[r.unit_id],
                "plateau": curve.plateau,
                "midpoint": curve.midpoint_days,
                "width": curve.width_days,
            }
            for name, value in row.items():
                columns[name].append(value)
    types = {"initiative_ids": object, "unit_ids": object, "go_live": np.int64, "stop": np.int64}
    return Rollouts(
        **{
            name: np.array(values, dtype=types.get(name, np.float64))
            for name, values in columns.items()
        }
    )


def adoption_chunk(
    ro: Rollouts, mondays: np.ndarray, start: dt.date, rng: np.random.Generator
) -> pa.Table:
    """Adoption rows for the given Monday day indices (one month), entry-major."""
    live = (mondays[None, :] >= ro.go_live[:, None]) & (mondays[None, :] <= ro.stop[:, None])
    entry, week = np.nonzero(live)
    day = mondays[week]
    age = day - ro.go_live[entry]
    share = ro.plateau[entry] / (1 + np.exp(-(age - ro.midpoint[entry]) / ro.width[entry]))
    size = ro.size[entry]
    eligible = np.maximum(np.rint(size + rng.normal(0.0, ELIGIBLE_JITTER * size)), 1).astype(
        np.int64
    )
    active = rng.binomial(eligible, share)
    return pa.table(
        [
            pa.array(ro.initiative_ids[entry], pa.string()),
            pa.array(ro.unit_ids[entry], pa.string()),
            pa.array(np.datetime64(start, "D") + day),
            pa.array(active.astype(np.int64)),
            pa.array(eligible),
        ],
        schema=ADOPTION_SCHEMA,
    )
