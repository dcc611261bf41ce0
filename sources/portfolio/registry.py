"""The portfolio registry: AI initiatives, their KPIs, targets, rollouts and stages.

The registry is YAML kept in git. `load_registry` parses it with pydantic and then checks what
pydantic cannot see on one object alone (ids that must exist elsewhere, dates that must be in
order). Every problem is reported with the file, the initiative and the field, all at once, so
the person fixing the file sees the whole list.

A run reads the registry several times (partitions, the registry asset, each loader): the parse
of a given text is kept in the process, and libyaml does it when PyYAML has it (a
500-initiative registry of 4.5 MB: about 12 s in pure Python, 4.7 s in C, most of it PyYAML's
Python resolver and constructor). Every run is a new process, so a caller that names a cache
folder (the CLI and Dagster: `<home>/cache`) also keeps the validated registry there: as JSON
that pydantic validates again on reading (0.24 s), keyed by the text and by the rules (the
source of this module and plans.py, the PyYAML and pydantic versions), so an edited registry
or changed rules are parsed anew.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
from pathlib import Path
from typing import Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sources.portfolio.plans import RolloutPlan, rollout_plan_problems

STAGES = ("idea", "poc", "pilot", "production", "scaled")
TERMINAL_STAGE = "killed"
Stage = Literal["idea", "poc", "pilot", "production", "scaled", "killed"]
# A phase gate is named after the stage it leads into: gate `pilot` is passed from `poc`.
GATES = {"poc": "idea", "pilot": "poc", "production": "pilot", "scaled": "production"}
Gate = Literal["poc", "pilot", "production", "scaled"]
ValueDriver = Literal["cost", "revenue", "time", "quality"]

SLUG = r"^[a-z0-9][a-z0-9_-]*$"


class RegistryError(ValueError):
    """The registry cannot be used; the message lists every problem found."""

    what = "the portfolio registry"

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{self.path}: {len(problems)} problem(s) in {self.what}; "
            f"fix them in the file and run again:\n{listing}"
        )


class Strict(BaseModel):
    # Unknown keys are typos more often than intent: reject them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Measurement(Strict):
    baseline_days: int = Field(90, ge=7, le=730)
    ramp_up_days: int = Field(28, ge=0, le=365)
    min_observations: int = Field(30, ge=1)
    # Evidence for a baseline window that arrives later than this after the unit's KPI series
    # was first loaded, and after the ramp-up has ended, is late: listed, never applied.
    baseline_grace_days: int = Field(7, ge=0, le=365)


class MeasurementOverride(Strict):
    baseline_days: int | None = Field(None, ge=7, le=730)
    ramp_up_days: int | None = Field(None, ge=0, le=365)
    min_observations: int | None = Field(None, ge=1)
    baseline_grace_days: int | None = Field(None, ge=0, le=365)


class Discipline(Strict):
    """How recommendations look forward (see docs/discipline.md)."""

    # Months of future value and cost weighed against each other (expected remaining value
    # versus expected remaining cost).
    horizon_months: int = Field(12, ge=1, le=120)
    # The latest whole months whose average cost and volume stand for the months ahead.
    run_rate_months: int = Field(3, ge=1, le=24)
    # Days of adoption evidence, up to the as-of date, behind the adoption rate of a gate.
    adoption_window_days: int = Field(28, ge=7, le=365)


class DisciplineOverride(Strict):
    horizon_months: int | None = Field(None, ge=1, le=120)
    run_rate_months: int | None = Field(None, ge=1, le=24)
    adoption_window_days: int | None = Field(None, ge=7, le=365)


class GateCriteria(Strict):
    """What an initiative must show to pass a phase gate. A criterion left out is not applied.

    In an override (portfolio or initiative), a field that is given replaces the default and
    `null` (or `false`) switches the criterion off; fields not given keep the default.
    """

    # The evidence gates (data quality checks) pass, warnings allowed.
    evidence_verified: bool | None = None
    # At least one KPI shows measurable value (95% interval above zero) and none is harmful.
    measurable_value: bool | None = None
    # Every KPI's attributed change reaches at least this share of its target (0.5 = half).
    min_target_attainment: float | None = Field(None, ge=0, le=10)
    # Active / eligible users over the adoption window.
    min_adoption_rate: float | None = Field(None, ge=0, le=1)
    # Calendar months since the first unit went live.
    min_months_live: int | None = Field(None, ge=0, le=240)
    # Calendar months in the current stage.
    min_months_in_stage: int | None = Field(None, ge=0, le=240)
    # Units in the rollout plan (a measured pilot needs treated units; controls are the rest).
    min_units_planned: int | None = Field(None, ge=0)
    # Expected value over the horizon / expected cost over the horizon.
    min_value_to_cost: float | None = Field(None, ge=0)
    # Annualised run cost (average monthly cost of the latest run_rate_months x 12) / approved
    # budget. Forward-looking on purpose: money already spent never decides a gate.
    max_run_cost_to_budget: float | None = Field(None, gt=0)
    # Days allowed in the stage before this gate; beyond it the initiative is stuck.
    max_days_in_stage: int | None = Field(None, ge=1, le=3650)


# Built-in defaults, overridden field by field by `portfolio.gate_criteria` and then by an
# initiative's `gate_criteria`. From pilot to production the question is whether it works
# (evidence, effect, target, adoption); from production to scaled also whether it pays.
DEFAULT_GATE_CRITERIA: dict[str, dict[str, float | int | bool]] = {
    "poc": {"max_days_in_stage": 365},
    "pilot": {
        "evidence_verified": True,
        "min_months_in_stage": 2,
        "min_units_planned": 2,
        "max_run_cost_to_budget": 1.0,
        "max_days_in_stage": 180,
    },
    "production": {
        "evidence_verified": True,
        "measurable_value": True,
        "min_target_attainment": 0.5,
        "min_adoption_rate": 0.4,
        "min_months_live": 3,
        "max_run_cost_to_budget": 1.0,
        "max_days_in_stage": 180,
    },
    "scaled": {
        "evidence_verified": True,
        "measurable_value": True,
        "min_target_attainment": 0.5,
        "min_adoption_rate": 0.6,
        "min_months_live": 6,
        "min_value_to_cost": 1.0,
        "max_run_cost_to_budget": 1.0,
    },
}


def _merge_gates(
    base: dict[str, dict[str, float | int | bool]], override: dict[str, GateCriteria]
) -> dict[str, dict[str, float | int | bool]]:
    merged = {gate: dict(criteria) for gate, criteria in base.items()}
    for gate, criteria in override.items():
        target = merged.setdefault(gate, {})
        for name, value in criteria.model_dump(exclude_unset=True).items():
            if value is None or value is False:
                target.pop(name, None)
            else:
                target[name] = value
    return merged


class Unit(Strict):
    unit_id: str = Field(pattern=SLUG)
    name: str
    business_unit: str
    region: str | None = None
    size: int | None = Field(None, ge=0, description="Headcount or comparable size measure.")


class Kpi(Strict):
    kpi_id: str = Field(pattern=SLUG)
    name: str
    unit_of_measure: str
    aggregation: Literal["mean", "sum", "ratio"]
    higher_is_better: bool
    min_value: float | None = None
    max_value: float | None = None


class Target(Strict):
    """A signed change: negative for a decrease. Relative is a fraction of the baseline."""

    type: Literal["relative", "absolute"]
    change: float

    @field_validator("change")
    @classmethod
    def _not_zero(cls, v: float) -> float:
        if v == 0:
            raise ValueError("a target change of 0 is no target; give the change you expect")
        return v


class ValueModel(Strict):
    """How one unit of favourable KPI change turns into money.

    value = favourable change x volume x per_unit, where volume is the sum of the observations'
    weights (contacts, orders, visits) or, for KPIs without weight, the number of observations.
    """

    per_unit: float = Field(gt=0)
    driver: ValueDriver
    # Capacity (hours freed) is not cash unless a KPI shows where the time went.
    realisation: Literal["cash", "capacity"] | None = None

    @property
    def is_cash(self) -> bool:
        if self.realisation is not None:
            return self.realisation == "cash"
        return self.driver != "time"


class InitiativeKpi(Strict):
    kpi_id: str
    direction: Literal["increase", "decrease"]
    target: Target
    value: ValueModel


class Rollout(Strict):
    unit_id: str
    go_live: dt.date


class Blocker(Strict):
    raised_on: dt.date
    text: str
    resolved_on: dt.date | None = None


class Budget(Strict):
    amount: float = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class Initiative(Strict):
    initiative_id: str = Field(pattern=SLUG)
    name: str
    business_unit: str
    owner: str
    priority: Literal["high", "medium", "low"]
    strategic_theme: str
    stages: dict[Stage, dt.date] = Field(min_length=1)
    budget: Budget
    kpis: list[InitiativeKpi] = Field(default_factory=list)
    rollout: list[Rollout] = Field(default_factory=list)
    # A randomised rollout designed before go-live (valueledger plan-rollout); none: not randomised
    rollout_plan: RolloutPlan | None = None
    measurement: MeasurementOverride = Field(default_factory=MeasurementOverride)
    discipline: DisciplineOverride = Field(default_factory=DisciplineOverride)
    gate_criteria: dict[Gate, GateCriteria] = Field(default_factory=dict)
    blockers: list[Blocker] = Field(default_factory=list)

    @property
    def current_stage(self) -> str:
        if TERMINAL_STAGE in self.stages:
            return TERMINAL_STAGE
        return max(self.stages, key=STAGES.index)


class PortfolioHeader(Strict):
    name: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    data_starts_on: dt.date
    # Annual rate for net present values, discounted monthly: (1 + rate) ** (-months / 12).
    discount_rate: float = Field(0.08, ge=0, lt=1)
    measurement: Measurement = Field(default_factory=Measurement)
    discipline: Discipline = Field(default_factory=Discipline)
    # Phase-gate criteria for every initiative, field by field over DEFAULT_GATE_CRITERIA.
    gate_criteria: dict[Gate, GateCriteria] = Field(default_factory=dict)


class Registry(Strict):
    portfolio: PortfolioHeader
    units: list[Unit] = Field(min_length=1)
    kpis: list[Kpi] = Field(min_length=1)
    initiatives: list[Initiative] = Field(min_length=1)

    def measurement_for(self, initiative: Initiative) -> Measurement:
        overrides = initiative.measurement.model_dump(exclude_none=True)
        return self.portfolio.measurement.model_copy(update=overrides)

    def discipline_for(self, initiative: Initiative) -> Discipline:
        overrides = initiative.discipline.model_dump(exclude_none=True)
        return self.portfolio.discipline.model_copy(update=overrides)

    def gate_criteria_for(self, initiative: Initiative) -> dict[str, dict[str, float | int | bool]]:
        """Gate -> criterion -> threshold: built-in defaults, portfolio, then initiative."""
        portfolio = _merge_gates(DEFAULT_GATE_CRITERIA, self.portfolio.gate_criteria)
        return _merge_gates(portfolio, initiative.gate_criteria)


def _where(raw: dict, loc: tuple) -> str:
    """Turn a pydantic location into 'initiative <id>, field <path>' where possible."""
    if len(loc) >= 2 and loc[0] == "initiatives" and isinstance(loc[1], int):
        try:
            ident = raw["initiatives"][loc[1]].get("initiative_id", f"#{loc[1] + 1}")
        except (IndexError, KeyError, TypeError, AttributeError):
            ident = f"#{loc[1] + 1}"
        field = ".".join(str(p) for p in loc[2:]) or "(the whole entry)"
        return f"initiative '{ident}', field '{field}'"
    return f"field '{'.'.join(str(p) for p in loc)}'"


def _cross_checks(reg: Registry) -> list[str]:
    problems: list[str] = []
    kpis = {k.kpi_id: k for k in reg.kpis}
    units = {u.unit_id for u in reg.units}
    currency = reg.portfolio.currency

    for label, ids in (
        ("unit_id", [u.unit_id for u in reg.units]),
        ("kpi_id", [k.kpi_id for k in reg.kpis]),
        ("initiative_id", [i.initiative_id for i in reg.initiatives]),
    ):
        seen: set[str] = set()
        for ident in ids:
            if ident in seen:
                problems.append(f"duplicate {label} '{ident}': each id must appear once")
            seen.add(ident)

    for k in reg.kpis:
        if k.min_value is not None and k.max_value is not None and k.min_value > k.max_value:
            problems.append(f"kpi '{k.kpi_id}', field 'min_value': greater than max_value")

    for ini in reg.initiatives:
        where = f"initiative '{ini.initiative_id}'"
        ordered = [s for s in STAGES if s in ini.stages]
        for before, after in zip(ordered, ordered[1:], strict=False):
            if ini.stages[after] < ini.stages[before]:
                problems.append(
                    f"{where}, field 'stages.{after}': entered {ini.stages[after]}, before "
                    f"'{before}' ({ini.stages[before]}); stage dates must not go backwards"
                )
        if TERMINAL_STAGE in ini.stages and ordered:
            last = ordered[-1]
            if ini.stages[TERMINAL_STAGE] < ini.stages[last]:
                problems.append(
                    f"{where}, field 'stages.killed': {ini.stages[TERMINAL_STAGE]} is before "
                    f"stage '{last}' was entered ({ini.stages[last]})"
                )
        if ini.budget.currency != currency:
            problems.append(
                f"{where}, field 'budget.currency': {ini.budget.currency} differs from the "
                f"portfolio currency {currency}; convert the budget"
            )
        seen_kpis: set[str] = set()
        for n, ik in enumerate(ini.kpis):
            field = f"kpis[{n}]"
            if ik.kpi_id in seen_kpis:
                problems.append(f"{where}, field '{field}.kpi_id': '{ik.kpi_id}' listed twice")
            seen_kpis.add(ik.kpi_id)
            kpi = kpis.get(ik.kpi_id)
            if kpi is None:
                problems.append(
                    f"{where}, field '{field}.kpi_id': unknown KPI '{ik.kpi_id}'; add it to "
                    f"'kpis' or use one of: {', '.join(sorted(kpis))}"
                )
                continue
            favourable = "increase" if kpi.higher_is_better else "decrease"
            if ik.direction != favourable:
                problems.append(
                    f"{where}, field '{field}.direction': '{ik.direction}' but KPI "
                    f"'{kpi.kpi_id}' is better when it {favourable}s"
                )
            if (ik.target.change > 0) != (ik.direction == "increase"):
                problems.append(
                    f"{where}, field '{field}.target.change': {ik.target.change} points the "
                    f"wrong way for direction '{ik.direction}' (a decrease is negative)"
                )
        seen_units: set[str] = set()
        for n, r in enumerate(ini.rollout):
            field = f"rollout[{n}]"
            if r.unit_id not in units:
                problems.append(f"{where}, field '{field}.unit_id': unknown unit '{r.unit_id}'")
            if r.unit_id in seen_units:
                problems.append(f"{where}, field '{field}.unit_id': '{r.unit_id}' rolled out twice")
            seen_units.add(r.unit_id)
            if r.go_live < reg.portfolio.data_starts_on:
                problems.append(
                    f"{where}, field '{field}.go_live': {r.go_live} is before the data starts "
                    f"({reg.portfolio.data_starts_on}); no baseline can be measured"
                )
        if ini.rollout and not ini.kpis:
            problems.append(f"{where}, field 'kpis': a rollout needs at least one KPI to measure")
        for n, b in enumerate(ini.blockers):
            if b.resolved_on is not None and b.resolved_on < b.raised_on:
                problems.append(f"{where}, field 'blockers[{n}].resolved_on': before it was raised")
    return problems + rollout_plan_problems(reg)


# The same safe loader, in C when PyYAML was built with libyaml.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# Registries parsed in this process, by text digest (a Registry is frozen, so it is shared).
_PARSED: dict[str, Registry] = {}
_PARSED_KEEP = 4
# Registries kept per cache folder: the current one and a few recent edits.
CACHE_KEEP = 3


@functools.cache
def _rules_digest() -> bytes:
    """The rules a registry is validated by (their source, and the versions of the parser and
    of pydantic): a change parses every text anew."""
    digest = hashlib.sha256(f"{yaml.__version__} {pydantic.VERSION}".encode())
    for source in (Path(__file__), Path(__file__).with_name("plans.py")):
        digest.update(source.read_bytes())
    return digest.digest()


def _read_cached(cache: Path) -> Registry | None:
    try:
        reg = Registry.model_validate_json(cache.read_bytes())
        os.utime(cache)  # in use: among the newest, which the folder keeps
        return reg
    except (OSError, ValueError):  # absent, unreadable or torn: parse the text instead
        return None


def _write_cached(cache: Path, reg: Registry) -> None:
    """Write by rename (a concurrent reader sees a whole file or none); keep the newest few."""
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(reg.model_dump_json(by_alias=True), encoding="utf-8")
        os.replace(tmp, cache)
        kept = sorted(cache.parent.glob("registry-*.json"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-CACHE_KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        # A cache that cannot be written costs the next run a parse, nothing else; a half
        # written file is not left behind.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def parse_registry(
    text: str, path: Path | str = "<registry>", cache_dir: Path | str | None = None
) -> Registry:
    """The validated registry of a YAML text, parsed once per process and, given `cache_dir`,
    kept there for the next process. Raises RegistryError listing every problem."""
    digest = hashlib.sha256(_rules_digest() + text.encode("utf-8")).hexdigest()[:32]
    reg = _PARSED.get(digest)
    cache = None if cache_dir is None else Path(cache_dir) / f"registry-{digest}.json"
    if reg is None and cache is not None:
        reg = _read_cached(cache)
    if reg is None:
        reg = _parse_registry(text, path)
        if cache is not None:
            _write_cached(cache, reg)
    _PARSED[digest] = reg
    while len(_PARSED) > _PARSED_KEEP:
        del _PARSED[next(iter(_PARSED))]
    return reg


def _parse_registry(text: str, path: Path | str) -> Registry:
    try:
        raw = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise RegistryError(path, [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise RegistryError(path, ["expected a mapping with portfolio, units, kpis, initiatives"])
    try:
        reg = Registry.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_where(raw, tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise RegistryError(path, problems) from None
    problems = _cross_checks(reg)
    if problems:
        raise RegistryError(path, problems)
    return reg


def load_registry(path: Path | str, cache_dir: Path | str | None = None) -> Registry:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegistryError(path, ["file not found; set VALUELEDGER_REGISTRY"]) from None
    except UnicodeDecodeError as exc:
        raise RegistryError(path, [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    return parse_registry(text, path, cache_dir)
