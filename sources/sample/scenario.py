"""The sample scenario (scenario.yaml): the truth the generator injects into the sample sources."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_SCENARIO = Path(__file__).resolve().parent / "scenario.yaml"


class ScenarioError(ValueError):
    """The scenario file cannot be used; the message says where and why."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SystemSpec(Strict):
    format: Literal["csv", "parquet"]
    # canonical column -> the source's own column name
    columns: dict[str, str] = Field(default_factory=dict)


class KpiSpec(Strict):
    business_unit: str
    system: str
    level: float
    unit_offset_sd: float = Field(ge=0)
    noise_sd: float = Field(gt=0)
    weekly: float = 0.0
    yearly: float = 0.0
    trend_per_year: float = 0.0
    volume: float | None = Field(None, gt=0)
    decimals: int = Field(6, ge=0, le=12)


class Shock(Strict):
    name: str
    starts_on: dt.date
    shift: dict[str, float]


class EffectSpec(Strict):
    effect: float
    size: Literal["large", "medium", "small", "zero", "harmful"]


class Outage(Strict):
    unit_id: str
    starts_on: dt.date
    days: int = Field(ge=1)


class Missing(Strict):
    probability: float = Field(ge=0, lt=1)
    outage: Outage | None = None


class AdoptionCurve(Strict):
    plateau: float = Field(gt=0, le=1)
    midpoint_days: float = Field(gt=0)
    width_days: float = Field(gt=0)


class AdoptionOverride(Strict):
    plateau: float | None = Field(None, gt=0, le=1)
    midpoint_days: float | None = Field(None, gt=0)
    width_days: float | None = Field(None, gt=0)


class Adoption(Strict):
    default: AdoptionCurve
    initiatives: dict[str, AdoptionOverride] = Field(default_factory=dict)

    def curve(self, initiative_id: str) -> AdoptionCurve:
        override = self.initiatives.get(initiative_id)
        if override is None:
            return self.default
        return self.default.model_copy(update=override.model_dump(exclude_none=True))


class CostWeights(Strict):
    build: float = Field(ge=0)
    licence: float = Field(ge=0)
    cloud_base: float = Field(ge=0)
    cloud_per_live_unit: float = Field(ge=0)
    people: float = Field(gt=0)


class Costs(Strict):
    weights: CostWeights
    noise_sd: float = Field(ge=0)
    default_budget_share: float = Field(gt=0)
    budget_share: dict[str, float] = Field(default_factory=dict)

    def share(self, initiative_id: str) -> float:
        return self.budget_share.get(initiative_id, self.default_budget_share)


class Scenario(Strict):
    days: int = Field(ge=28)
    ramp_days: int = Field(ge=1)
    systems: dict[str, SystemSpec]
    kpis: dict[str, KpiSpec]
    shock: Shock | None = None
    effects: dict[str, dict[str, EffectSpec]] = Field(default_factory=dict)
    missing: Missing
    adoption: Adoption
    costs: Costs

    def effect(self, initiative_id: str, kpi_id: str) -> EffectSpec | None:
        return self.effects.get(initiative_id, {}).get(kpi_id)

    def shock_shift(self, kpi_id: str) -> float:
        return self.shock.shift.get(kpi_id, 0.0) if self.shock else 0.0


def _cross_checks(sc: Scenario) -> list[str]:
    problems = [
        f"kpis.{kpi_id}.system: unknown system '{spec.system}'"
        for kpi_id, spec in sc.kpis.items()
        if spec.system not in sc.systems
    ]
    if sc.shock:
        problems += [f"shock.shift: unknown KPI '{k}'" for k in sc.shock.shift if k not in sc.kpis]
    for ini, kpis in sc.effects.items():
        problems += [f"effects.{ini}: unknown KPI '{k}'" for k in kpis if k not in sc.kpis]
    return problems


def load_scenario(path: Path | str = DEFAULT_SCENARIO) -> Scenario:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        scenario = Scenario.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc}") from None
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ScenarioError(f"{path}: invalid scenario:\n  - " + "\n  - ".join(problems)) from None
    problems = _cross_checks(scenario)
    if problems:
        raise ScenarioError(f"{path}: invalid scenario:\n  - " + "\n  - ".join(problems))
    return scenario
