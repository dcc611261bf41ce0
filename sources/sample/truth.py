"""Ground truth per initiative x KPI: the injected effect and what a naive before/after would see.

naive_bias is what the deterministic non-effect components (level, seasonality, trend, shock) add
to a naive change: per treated unit, their mean over the post window minus their mean over the
baseline window, averaged over units. naive_se is the noise-only standard error of the naive
average change, with expected day counts. Tests derive their tolerance from it.
"""

from __future__ import annotations

import numpy as np

from sources.sample.observations import KpiSeries
from sources.sample.scaling import Scaled
from sources.sample.scenario import Scenario


def _window_means(cumsum: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Mean of the series over [first, last) per unit, from its cumulative sum."""
    return (cumsum[last] - cumsum[first]) / (last - first)


def _naive(
    series: KpiSeries,
    rows: np.ndarray,
    go_live: np.ndarray,
    baseline_days: int,
    ramp_up_days: int,
    days: int,
    p_missing: float,
) -> dict:
    curve = series.curve(np.arange(days))
    cumsum = np.concatenate([[0.0], np.cumsum(curve)])
    base_first = np.maximum(go_live - baseline_days, 0)
    post_first = np.minimum(go_live + ramp_up_days, days)
    # Units whose baseline or post window is empty cannot be measured naively.
    ok = (go_live > base_first) & (post_first < days)
    if not ok.any():
        return {
            "naive_bias": None,
            "naive_se": None,
            "baseline_level": None,
            "n_units_measurable": 0,
        }
    rows, go_live, base_first, post_first = rows[ok], go_live[ok], base_first[ok], post_first[ok]
    end = np.full_like(go_live, days)
    base = _window_means(cumsum, base_first, go_live)
    post = _window_means(cumsum, post_first, end)
    n_base = (go_live - base_first) * (1 - p_missing)
    n_post = (end - post_first) * (1 - p_missing)
    se = series.spec.noise_sd * np.sqrt(np.mean(1 / n_base + 1 / n_post)) / np.sqrt(len(rows))
    return {
        "naive_bias": float(np.mean(post - base)),
        "naive_se": float(se),
        "baseline_level": float(np.mean(series.offsets[rows] + base)),
        "n_units_measurable": int(len(rows)),
    }


def effect_truth(scaled: Scaled, scenario: Scenario, series: list[KpiSeries]) -> list[dict]:
    reg = scaled.registry
    start = reg.portfolio.data_starts_on
    by_kpi = {s.kpi_id: s for s in series}
    row_of_kpi = {s.kpi_id: {u: i for i, u in enumerate(s.unit_ids)} for s in series}
    records = []
    for ini in reg.initiatives:
        measurement = reg.measurement_for(ini)
        origin = scaled.initiative_origin[ini.initiative_id]
        for ik in ini.kpis:
            s = by_kpi.get(ik.kpi_id)
            if s is None:
                continue
            row_of = row_of_kpi[ik.kpi_id]
            live = [r for r in ini.rollout if r.unit_id in row_of]
            rows = np.array([row_of[r.unit_id] for r in live], dtype=np.int64)
            go_live = np.array([(r.go_live - start).days for r in live], dtype=np.int64)
            spec = scenario.effect(origin, ik.kpi_id)
            effect = spec.effect if spec and live else 0.0
            naive = _naive(
                s,
                rows,
                go_live,
                measurement.baseline_days,
                measurement.ramp_up_days,
                scenario.days,
                scenario.missing.probability,
            )
            level = naive.pop("baseline_level")
            shock_in_window = bool(
                s.shock_day is not None
                and live
                and np.any(go_live - measurement.baseline_days <= s.shock_day)
            )
            records.append(
                {
                    "initiative_id": ini.initiative_id,
                    "kpi_id": ik.kpi_id,
                    "effect_size": spec.size if spec and live else "none",
                    "true_effect": effect,
                    "true_effect_relative": effect / level if level else None,
                    "baseline_level": level,
                    "noise_sd": s.spec.noise_sd,
                    "n_units_treated": len(live),
                    "n_control_units": len(s.unit_ids) - len(live),
                    "shock_in_window": shock_in_window,
                    **naive,
                }
            )
    return records
