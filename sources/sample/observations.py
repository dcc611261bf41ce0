"""KPI observations: the additive model of scenario.yaml, vectorised over units x days.

`KpiSeries` holds what is fixed per KPI (its units, their offsets, volumes and treatments); `chunk`
draws one block of days for all its units at once, so memory follows the block, not the data.
The deterministic part (`curve`) is shared with the ground truth, so both use the same numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sources.portfolio.registry import Registry
from sources.sample.scaling import Scaled
from sources.sample.scenario import KpiSpec, Scenario

YEARLY_PEAK_DOY = 355  # winter peak: the yearly cycle is highest around 21 December
DAYS_PER_YEAR = 365.25
EPOCH = np.datetime64("1970-01-01", "D")

OBSERVATION_SCHEMA = pa.schema(
    [
        ("unit_id", pa.string()),
        ("kpi_id", pa.string()),
        ("observed_on", pa.date32()),
        ("value", pa.float64()),
        ("weight", pa.float64()),
    ]
)


@dataclass(frozen=True)
class Treatment:
    """One initiative's effect on one KPI: the treated rows of the series and their go-live days."""

    initiative_id: str
    rows: np.ndarray  # indices into KpiSeries.unit_ids
    go_live: np.ndarray  # day index (days since the data start) per row
    effect: float


@dataclass(frozen=True)
class KpiSeries:
    kpi_id: str
    spec: KpiSpec
    start: dt.date
    shock_day: int | None  # day index the shock starts, None if it does not move this KPI
    shock_shift: float
    unit_ids: np.ndarray  # object array of unit ids
    offsets: np.ndarray
    weight_means: np.ndarray | None
    treatments: tuple[Treatment, ...]
    outage_rows: np.ndarray
    outage_days: tuple[int, int]  # [first, last) day index of the outage
    min_value: float | None
    max_value: float | None

    def curve(self, t: np.ndarray) -> np.ndarray:
        """Everything but unit offset, effect and noise, for day indices t."""
        dates = np.datetime64(self.start, "D") + t
        dow = ((dates - EPOCH).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64) + 1
        s = self.spec
        out = (
            s.level
            + s.weekly * np.cos(2 * np.pi * dow / 7)
            + s.yearly * np.cos(2 * np.pi * (doy - YEARLY_PEAK_DOY) / DAYS_PER_YEAR)
            + s.trend_per_year * t / DAYS_PER_YEAR
        )
        if self.shock_day is not None:
            out = out + self.shock_shift * (t >= self.shock_day)
        return out

    def effect(self, t: np.ndarray, ramp_days: int) -> np.ndarray:
        grid = np.zeros((len(self.unit_ids), len(t)))
        for tr in self.treatments:
            ramp = np.clip((t[None, :] - tr.go_live[:, None] + 1) / ramp_days, 0.0, 1.0)
            grid[tr.rows] += tr.effect * ramp
        return grid


def build_series(scaled: Scaled, scenario: Scenario, rng: np.random.Generator) -> list[KpiSeries]:
    """One series per scenario KPI that the registry knows and has units for."""
    reg = scaled.registry
    start = reg.portfolio.data_starts_on
    registry_kpis = {k.kpi_id: k for k in reg.kpis}
    series = []
    for kpi_id, spec in scenario.kpis.items():
        kpi = registry_kpis.get(kpi_id)
        units = [u for u in reg.units if u.business_unit == spec.business_unit]
        if kpi is None or not units:
            continue
        unit_ids = np.array([u.unit_id for u in units], dtype=object)
        offsets = rng.normal(0.0, spec.unit_offset_sd, len(units))
        shock = scenario.shock
        shift = scenario.shock_shift(kpi_id)
        series.append(
            KpiSeries(
                kpi_id=kpi_id,
                spec=spec,
                start=start,
                shock_day=(shock.starts_on - start).days if shock and shift else None,
                shock_shift=shift,
                unit_ids=unit_ids,
                offsets=offsets,
                weight_means=_weight_means(units, spec),
                treatments=_treatments(scaled, scenario, kpi_id, unit_ids),
                outage_rows=_outage_rows(scaled, scenario, unit_ids),
                outage_days=_outage_days(scenario, start),
                min_value=kpi.min_value,
                max_value=kpi.max_value,
            )
        )
    return series


def _weight_means(units, spec: KpiSpec) -> np.ndarray | None:
    if spec.volume is None:
        return None
    known = [u.size for u in units if u.size]
    mean_size = float(np.mean(known)) if known else 1.0
    sizes = np.array([u.size or mean_size for u in units], dtype=float)
    return spec.volume * sizes / mean_size


def _treatments(
    scaled: Scaled, scenario: Scenario, kpi_id: str, unit_ids: np.ndarray
) -> tuple[Treatment, ...]:
    reg: Registry = scaled.registry
    start = reg.portfolio.data_starts_on
    row_of = {u: i for i, u in enumerate(unit_ids)}
    out = []
    for ini in reg.initiatives:
        spec = scenario.effect(scaled.initiative_origin[ini.initiative_id], kpi_id)
        if spec is None or spec.effect == 0.0 or kpi_id not in {k.kpi_id for k in ini.kpis}:
            continue
        live = [r for r in ini.rollout if r.unit_id in row_of]
        if not live:
            continue
        rows = np.array([row_of[r.unit_id] for r in live], dtype=np.int64)
        go_live = np.array([(r.go_live - start).days for r in live], dtype=np.int64)
        out.append(Treatment(ini.initiative_id, rows, go_live, spec.effect))
    return tuple(out)


def _outage_rows(scaled: Scaled, scenario: Scenario, unit_ids: np.ndarray) -> np.ndarray:
    outage = scenario.missing.outage
    if outage is None:
        return np.array([], dtype=np.int64)
    # Only the sample unit itself, not its clones: one outage, as the scenario says.
    return np.flatnonzero(unit_ids == outage.unit_id)


def _outage_days(scenario: Scenario, start: dt.date) -> tuple[int, int]:
    outage = scenario.missing.outage
    if outage is None:
        return (0, 0)
    first = (outage.starts_on - start).days
    return (first, first + outage.days)


def chunk(
    series: KpiSeries, t: np.ndarray, scenario: Scenario, rng: np.random.Generator
) -> pa.Table:
    """All observations of one KPI for the day indices t, day by day, missing ones dropped."""
    s = series.spec
    n_units, n_days = len(series.unit_ids), len(t)
    # Draws in a fixed order (noise, gaps, weights) keep the output a pure function of the seed.
    noise = rng.normal(0.0, s.noise_sd, (n_units, n_days))
    keep = rng.random((n_units, n_days)) >= scenario.missing.probability
    weights = None
    if series.weight_means is not None:
        weights = np.maximum(rng.poisson(series.weight_means[:, None], (n_units, n_days)), 1)

    value = series.curve(t)[None, :] + series.offsets[:, None]
    value = value + series.effect(t, scenario.ramp_days) + noise
    value = np.clip(value, series.min_value, series.max_value).round(s.decimals)

    first, last = series.outage_days
    keep[np.ix_(series.outage_rows, (t >= first) & (t < last))] = False

    # Day-major order: a daily export appends each day's rows.
    keep_t = keep.T.ravel()
    rows = np.tile(np.arange(n_units), n_days)[keep_t]
    days = np.repeat(t, n_units)[keep_t]
    n = len(rows)
    weight = (
        pa.array(weights.T.ravel()[keep_t].astype(np.float64))
        if weights is not None
        else pa.nulls(n, pa.float64())
    )
    return pa.table(
        [
            pa.array(series.unit_ids[rows], pa.string()),
            pa.array(np.full(n, series.kpi_id, dtype=object), pa.string()),
            pa.array(np.datetime64(series.start, "D") + days),
            pa.array(value.T.ravel()[keep_t]),
            weight,
        ],
        schema=OBSERVATION_SCHEMA,
    )
