"""The `rollout_plan` block of an initiative: a randomised rollout designed before go-live.

Written by `valueledger plan-rollout` (orchestration/plan_rollout.py), kept in the registry with
the initiative it plans, validated like the rest of the registry. The MDE and the gate thresholds
are pre-registered: once the first unit is live, changes to them are flagged as post hoc in the
goalpost audit (marts.fct_registry_changes.is_post_hoc). See docs/method.md, "Rollout design and
pre-registration".
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from sources.portfolio.registry import Registry

PLAN_METHOD = "stratified randomised waves"
ESTIMATOR = "staggered difference-in-differences, unit-clustered CR2 (docs/method.md 3-4)"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlannedWave(_Strict):
    wave: int = Field(ge=1)
    go_live: dt.date
    units: list[str] = Field(min_length=1)


class MinimumDetectableEffect(_Strict):
    """The effect the plan detects with `power` at two-sided `alpha`, in the KPI's unit."""

    estimator: Literal[ESTIMATOR] = ESTIMATOR  # type: ignore[valid-type]
    value: float = Field(gt=0)
    relative: float | None = Field(None, gt=0)  # value / baseline_value
    baseline_value: float | None = None
    standard_error: float = Field(gt=0)
    degrees_of_freedom: float = Field(gt=0)
    alpha: float = Field(0.05, gt=0, lt=1)
    power: float = Field(0.8, gt=0, lt=1)
    # The working model of a unit's monthly residual, estimated from the baseline data.
    residual_sd: float = Field(ge=0)
    serial_correlation: float = Field(ge=0, lt=1)
    between_unit_sd: float = Field(ge=0)
    baseline_from: dt.date
    baseline_to: dt.date
    end_month: dt.date  # the last month the planned estimate includes


class RolloutPlan(_Strict):
    method: Literal[PLAN_METHOD] = PLAN_METHOD  # type: ignore[valid-type]
    seed: int
    planned_on: dt.date
    kpi_id: str
    size_buckets: int = Field(ge=1)
    strata: dict[str, list[str]] = Field(min_length=1)
    waves: list[PlannedWave] = Field(min_length=1)
    controls: list[str] = Field(default_factory=list)  # units kept as controls (never treated)
    mde: MinimumDetectableEffect


def rollout_plan_problems(reg: Registry) -> list[str]:
    """What pydantic cannot see on the plan alone: ids, wave order, strata covering the waves."""
    problems: list[str] = []
    units = {u.unit_id for u in reg.units}
    for ini in reg.initiatives:
        plan = ini.rollout_plan
        if plan is None:
            continue
        where = f"initiative '{ini.initiative_id}', field 'rollout_plan"
        if plan.kpi_id not in {k.kpi_id for k in ini.kpis}:
            problems.append(f"{where}.kpi_id': '{plan.kpi_id}' is not one of the initiative's KPIs")
        placed: dict[str, str] = {}
        for n, wave in enumerate(plan.waves):
            if wave.wave != n + 1:
                problems.append(f"{where}.waves[{n}].wave': {wave.wave}, expected {n + 1}")
            if n and wave.go_live <= plan.waves[n - 1].go_live:
                problems.append(
                    f"{where}.waves[{n}].go_live': {wave.go_live} is not after wave {n}'s "
                    f"({plan.waves[n - 1].go_live})"
                )
            for unit in wave.units:
                if unit in placed:
                    problems.append(
                        f"{where}.waves[{n}].units': '{unit}' already in {placed[unit]}"
                    )
                placed[unit] = f"wave {wave.wave}"
        for unit in plan.controls:
            if unit in placed:
                problems.append(f"{where}.controls': '{unit}' is also in {placed[unit]}")
        for unit in sorted({*placed, *plan.controls} - units):
            problems.append(f"{where}': unknown unit '{unit}'")
        stratified = [u for members in plan.strata.values() for u in members]
        if sorted(stratified) != sorted(placed):
            problems.append(
                f"{where}.strata': the strata must hold each wave unit once "
                f"(missing: {sorted(set(placed) - set(stratified))}, "
                f"extra: {sorted(set(stratified) - set(placed))})"
            )
        if plan.waves and plan.planned_on > plan.waves[0].go_live:
            problems.append(
                f"{where}.planned_on': {plan.planned_on} is after the first planned go-live "
                f"({plan.waves[0].go_live}); a plan is made before anything goes live"
            )
    return problems
