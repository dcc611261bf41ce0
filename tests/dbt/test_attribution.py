"""Attribution finance can defend: difference-in-differences recovers injected effects.

One warehouse holds every world (tests/dbt/worlds.py): 20 seeds of the sample portfolio with
its injected effects, 20 seeds with no effect at all and rollouts that treat every unit in the
end, and small hand-made panels. One `dbt run` of the attribution models serves every test.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from sources.sample.scenario import load_scenario
from tests.dbt.worlds import (
    hand_estimate,
    panel_world,
    run_dbt,
    sample_registry,
    sample_world,
    write_warehouse,
)

pytestmark = pytest.mark.slow

SEEDS = range(1, 21)
# Rollouts that leave no control unit in the end: the last cohort has no controls left.
EVERY_UNIT_TREATED = {
    "retail-next-best-offer": [
        {"unit_id": u, "go_live": dt.date(2026, 4, 6)} for u in ("st-06", "st-07", "st-08")
    ],
    "ops-pick-path": [{"unit_id": u, "go_live": dt.date(2026, 3, 2)} for u in ("wh-09", "wh-10")],
    "cs-agent-assist": [{"unit_id": u, "go_live": dt.date(2026, 1, 5)} for u in ("cc-07", "cc-08")],
}
GRAINS = ("daily", "weekly", "monthly", "quarterly")


# --- hand-made panels -------------------------------------------------------------------------


def panel_2x2(rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """Two groups, two periods, one observation per unit and period (monthly grain)."""
    rows = []
    treated = [f"t{i:02d}" for i in range(6)]
    controls = [f"c{i:02d}" for i in range(8)]
    for unit in treated + controls:
        level = rng.normal(10, 2)
        for day, shift in ((dt.date(2025, 1, 1), 0.0), (dt.date(2025, 2, 1), 0.7)):
            effect = 1.5 if unit in treated and shift else 0.0
            rows.append((unit, day, level + shift + effect + rng.normal(0, 0.5)))
    obs = pd.DataFrame(rows, columns=["unit_id", "observed_on", "value"])
    return obs, {u: dt.date(2025, 2, 1) for u in treated}


def _dates(grain: str) -> list[dt.date]:
    first, last = dt.date(2024, 7, 1), dt.date(2026, 3, 31)
    if grain == "daily":
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    if grain == "weekly":  # Mondays
        return [
            first + dt.timedelta(days=i)
            for i in range((last - first).days + 1)
            if (first + dt.timedelta(days=i)).weekday() == 0
        ]
    step = 1 if grain == "monthly" else 3
    return [
        dt.date(y, m, 1)
        for y in (2024, 2025, 2026)
        for m in range(1, 13, step)
        if first <= dt.date(y, m, 1) <= last
    ]


STAGGERED = {
    # grain: (measurement settings, cohort go-lives)
    "daily": (
        {"baseline_days": 90, "ramp_up_days": 28, "min_observations": 30},
        (dt.date(2025, 3, 3), dt.date(2025, 6, 2), dt.date(2025, 9, 1)),
    ),
    "weekly": (
        {"baseline_days": 90, "ramp_up_days": 21, "min_observations": 8},
        (dt.date(2025, 3, 3), dt.date(2025, 6, 2), dt.date(2025, 9, 1)),
    ),
    "monthly": (
        {"baseline_days": 120, "ramp_up_days": 0, "min_observations": 3},
        (dt.date(2025, 3, 1), dt.date(2025, 6, 1), dt.date(2025, 9, 1)),
    ),
    "quarterly": (
        {"baseline_days": 270, "ramp_up_days": 0, "min_observations": 2},
        (dt.date(2025, 4, 1), dt.date(2025, 7, 1), dt.date(2025, 10, 1)),
    ),
}


def panel_staggered(grain: str, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """Three cohorts (3, 3 and 2 units) and 3 never-treated units; a ratio KPI with weights,
    a common trend, unit levels, heterogeneous effects and 10% missing observations."""
    _, cohorts = STAGGERED[grain]
    go_lives = {}
    units = []
    for c, (size, go_live) in enumerate(zip((3, 3, 2), cohorts, strict=True)):
        for i in range(size):
            go_lives[f"g{c}u{i}"] = go_live
            units.append(f"g{c}u{i}")
    units += [f"nu{i}" for i in range(3)]
    rows = []
    for unit in units:
        level, effect = rng.normal(0.3, 0.05), rng.normal(0.04, 0.01)
        for day in _dates(grain):
            if rng.random() < 0.1:
                continue
            trend = 0.0001 * (day - dt.date(2024, 7, 1)).days
            live = unit in go_lives and day >= go_lives[unit]
            value = level + trend + (effect if live else 0.0) + rng.normal(0, 0.02)
            rows.append((unit, day, value, float(rng.poisson(200) + 1)))
    obs = pd.DataFrame(rows, columns=["unit_id", "observed_on", "value", "weight"])
    return obs, go_lives


def panel_pre_trend(rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """Treated units drift away from the controls long before go-live: not parallel."""
    go_live = dt.date(2025, 7, 7)
    rows = []
    for unit in [f"t{i}" for i in range(8)] + [f"c{i}" for i in range(8)]:
        level = rng.normal(50, 3)
        for day in _dates("daily"):
            drift = 0.01 * (day - dt.date(2024, 7, 1)).days if unit.startswith("t") else 0.0
            rows.append((unit, day, level + drift + rng.normal(0, 1.0)))
    obs = pd.DataFrame(rows, columns=["unit_id", "observed_on", "value"])
    return obs, {f"t{i}": go_live for i in range(8)}


def panel_late(rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """A backfill loaded long after go-live, then two restated baseline days loaded later."""
    go_live = dt.date(2025, 5, 5)
    backfill = dt.datetime(2025, 10, 1, 6, 0, 0)
    rows = []
    for unit in [f"t{i}" for i in range(3)] + [f"c{i}" for i in range(3)]:
        for day in _dates("daily"):
            rows.append((unit, day, 10.0 + rng.normal(0, 1.0), backfill + dt.timedelta(hours=1)))
    obs = pd.DataFrame(rows, columns=["unit_id", "observed_on", "value", "loaded_at"])
    restated = obs["unit_id"].eq("t0") & obs["observed_on"].isin(
        [dt.date(2025, 3, 3), dt.date(2025, 4, 30)]
    )
    obs.loc[restated, "value"] = 1000.0
    obs.loc[restated, "loaded_at"] = dt.datetime(2025, 11, 3, 6, 0, 0)
    return obs, {f"t{i}": go_live for i in range(3)}


PANEL_SETTINGS = {
    "2x2": {"baseline_days": 31, "ramp_up_days": 0, "min_observations": 1},
    "pretrend": {"baseline_days": 90, "ramp_up_days": 28, "min_observations": 30},
    "late": {"baseline_days": 90, "ramp_up_days": 28, "min_observations": 30},
}


# --- the warehouse ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("worlds")
    scenario = load_scenario()
    zero = scenario.model_copy(update={"effects": {}})
    sample, every_unit = sample_registry(), sample_registry(EVERY_UNIT_TREATED)
    built, panels = [], {}
    for seed in SEEDS:
        built.append(sample_world(sample, scenario, seed, f"-a{seed:02d}"))
        built.append(sample_world(every_unit, zero, seed, f"-z{seed:02d}"))
    rng = np.random.default_rng(20260101)
    panels["2x2"] = panel_2x2(rng)
    panels["pretrend"] = panel_pre_trend(rng)
    panels["late"] = panel_late(rng)
    for grain in GRAINS:
        panels[grain] = panel_staggered(grain, rng)
    for name, (obs, go_lives) in panels.items():
        settings = STAGGERED[name][0] if name in GRAINS else PANEL_SETTINGS[name]
        aggregation = "ratio" if name in GRAINS else "mean"
        built.append(panel_world(f"-p{name}", obs, go_lives, aggregation=aggregation, **settings))
    warehouse = write_warehouse(tmp / "worlds.duckdb", built)
    run_dbt(warehouse, tmp, ["fct_initiative_kpi_effects", "fct_late_baseline_evidence"])
    # dbt-duckdb keeps its in-process connection open: connect with the same (default) config.
    with duckdb.connect(str(warehouse)) as con:
        effects = con.execute("select * from marts.fct_initiative_kpi_effects").df()
        events = con.execute("select * from marts.fct_initiative_kpi_event_study").df()
        late = con.execute("select * from marts.fct_late_baseline_evidence").df()
        baselines = con.execute("select * from intermediate.int_baselines_frozen").df()
    truth = pd.DataFrame([{**e, "world": w.suffix} for w in built for e in w.truth])
    return {
        "effects": effects,
        "events": events,
        "late": late,
        "baselines": baselines,
        "truth": truth,
        "panels": panels,
    }


def _sample_estimates(worlds, prefix: str) -> pd.DataFrame:
    effects = worlds["effects"].copy()
    effects["world"] = effects["initiative_id"].str.extract(r"(-[az]\d\d)$")[0]
    effects["base_initiative_id"] = effects["initiative_id"].str.replace(
        r"-[az]\d\d$", "", regex=True
    )
    effects["base_kpi_id"] = effects["kpi_id"].str.replace(r"-[az]\d\d$", "", regex=True)
    effects = effects[effects["world"].str.startswith(prefix, na=False)]
    truth = worlds["truth"].rename(
        columns={"initiative_id": "base_initiative_id", "kpi_id": "base_kpi_id"}
    )
    merged = effects.merge(truth, on=["world", "base_initiative_id", "base_kpi_id"], how="left")
    sign = np.where(merged["direction"] == "increase", 1.0, -1.0)
    merged["true_favourable"] = merged["true_effect"].fillna(0.0) * sign
    merged["covers"] = (merged["ci_low"] <= merged["true_favourable"]) & (
        merged["true_favourable"] <= merged["ci_high"]
    )
    return merged


# --- sample worlds -------------------------------------------------------------------------


def test_interval_covers_the_injected_effect_in_90_percent_over_20_seeds(worlds):
    estimates = _sample_estimates(worlds, "-a")
    measured = estimates[estimates["evidence_verdict"] != "insufficient evidence"]
    assert measured["world"].nunique() == 20
    assert len(measured) >= 20 * 8, measured.groupby("base_initiative_id").size()
    coverage = measured["covers"].mean()
    print(f"\ncoverage of the true effect: {coverage:.1%} of {len(measured)} estimates")
    print(measured.groupby("base_initiative_id")["covers"].mean().to_string())
    assert coverage >= 0.90


def test_shock_at_go_live_biases_the_naive_change_not_the_attributed_one(worlds):
    estimates = _sample_estimates(worlds, "-a")
    nbo = estimates[estimates["base_initiative_id"] == "retail-next-best-offer"]
    assert len(nbo) == 20 and nbo["shock_in_window"].all()
    naive_error = (nbo["naive_change"] - nbo["true_effect"]).abs()
    attributed_error = (nbo["attributed_change"] - nbo["true_effect"]).abs()
    # The company-wide campaign (+0.004 from the first cohort's go-live) is booked as effect.
    assert (naive_error > 4 * nbo["naive_se"]).all()
    assert naive_error.mean() > 5 * attributed_error.mean()
    assert nbo["covers"].mean() >= 0.9
    assert (nbo["evidence_verdict"] == "measurable value").mean() >= 0.9


def test_zero_effect_intervals_contain_zero_also_without_controls_left(worlds):
    estimates = _sample_estimates(worlds, "-z")
    measured = estimates[estimates["evidence_verdict"] != "insufficient evidence"]
    contains_zero = (measured["ci_low"] <= 0) & (measured["ci_high"] >= 0)
    print(f"\nzero inside the interval: {contains_zero.mean():.1%} of {len(measured)} estimates")
    assert contains_zero.mean() >= 0.90
    # Every unit is treated in the end: the last cohort's cells have no control left and are
    # dropped and counted, while the earlier cohorts are still estimated.
    for initiative_id in EVERY_UNIT_TREATED:
        rows = measured[measured["base_initiative_id"] == initiative_id]
        assert len(rows) == 20, initiative_id
        assert (rows["n_cells_dropped_no_controls"] > 0).all(), initiative_id
        assert (rows["n_cells_used"] > 0).all(), initiative_id


def test_an_initiative_with_three_units_has_insufficient_evidence(worlds):
    estimates = pd.concat([_sample_estimates(worlds, "-a"), _sample_estimates(worlds, "-z")])
    fin = estimates[estimates["base_initiative_id"] == "fin-invoice-capture"]
    assert len(fin) == 2 * 2 * 20  # two KPIs, two kinds of world, 20 seeds
    assert (fin["evidence_verdict"] == "insufficient evidence").all()
    assert (fin["n_cells_used"] == 0).all()
    assert fin["ci_low"].isna().all() and fin["attributed_change"].isna().all()
    assert fin["naive_change"].notna().all()  # the naive number exists, and is not trusted


# --- hand-made panels ----------------------------------------------------------------------


def _panel_effect(worlds, name: str) -> pd.Series:
    effects = worlds["effects"]
    (row,) = effects[effects["initiative_id"] == f"did-p{name}"].to_dict("records")
    return pd.Series(row)


def test_2x2_equals_the_two_way_fixed_effects_interaction(worlds):
    import statsmodels.formula.api as smf
    from scipy import stats

    obs, go_lives = worlds["panels"]["2x2"]
    frame = obs.assign(
        post=(obs["observed_on"] == dt.date(2025, 2, 1)).astype(int),
        treated=obs["unit_id"].isin(go_lives).astype(int),
    )
    frame["treated_post"] = frame["treated"] * frame["post"]
    twfe = smf.ols("value ~ C(unit_id) + C(post) + treated_post", data=frame).fit()
    row = _panel_effect(worlds, "2x2")
    assert row["attributed_change"] == pytest.approx(twfe.params["treated_post"], abs=1e-9)
    # Standard error: with one cell, the CR2 clustered variance is Welch's, the HC2 standard
    # error of the unit-level differences regressed on the treated dummy.
    diffs = frame.pivot(index="unit_id", columns="post", values="value")
    diffs = (diffs[1] - diffs[0]).rename("change").reset_index()
    diffs["treated"] = diffs["unit_id"].isin(go_lives).astype(int)
    hc2 = smf.ols("change ~ treated", data=diffs).fit(cov_type="HC2")
    assert row["standard_error"] == pytest.approx(hc2.bse["treated"], rel=1e-9)
    n_t, n_c = len(go_lives), len(diffs) - len(go_lives)
    df = (1 / n_t + 1 / n_c) ** 2 / (1 / (n_t**2 * (n_t - 1)) + 1 / (n_c**2 * (n_c - 1)))
    assert row["degrees_of_freedom"] == pytest.approx(df, rel=1e-9)
    margin = stats.t.ppf(0.975, df) * hc2.bse["treated"]
    assert row["ci_low"] == pytest.approx(row["attributed_change"] - margin, rel=1e-5)
    assert row["ci_high"] == pytest.approx(row["attributed_change"] + margin, rel=1e-5)


@pytest.mark.parametrize("grain", GRAINS)
def test_staggered_equals_the_hand_computed_cohort_weighted_average(worlds, grain):
    obs, go_lives = worlds["panels"][grain]
    settings = STAGGERED[grain][0]
    expected = hand_estimate(obs, go_lives, aggregation="ratio", **settings)
    row = _panel_effect(worlds, grain)
    assert row["n_cohorts_used"] >= 2, grain
    assert row["n_cells_used"] == expected["n_cells_used"]
    assert row["n_cells_dropped_no_controls"] == expected["n_cells_dropped_no_controls"]
    assert row["attributed_change"] == pytest.approx(expected["attributed_change"], abs=1e-9)
    assert row["standard_error"] == pytest.approx(expected["standard_error"], rel=1e-9)


def test_treated_units_drifting_before_go_live_flag_a_pre_trend(worlds):
    row = _panel_effect(worlds, "pretrend")
    assert row["n_pre_periods_tested"] == 6
    assert row["has_pre_trend"]
    events = worlds["events"]
    pre = events[(events["initiative_id"] == "did-ppretrend") & events["is_pre_period"]]
    assert sorted(pre["event_month"]) == [-6, -5, -4, -3, -2, -1]


def test_late_baseline_evidence_is_listed_and_not_applied(worlds):
    obs, _ = worlds["panels"]["late"]
    late = worlds["late"]
    late = late[late["initiative_id"] == "did-plate"]
    assert sorted(late["observed_on"].dt.date) == [dt.date(2025, 3, 3), dt.date(2025, 4, 30)]
    assert (late["unit_id"] == "t0-plate").all() and (late["observed_value"] == 1000.0).all()
    # The backfill itself (loaded months after go-live, within the grace days of the first
    # load) is the baseline; the restated days are not in it.
    baselines = worlds["baselines"]
    (t0,) = baselines[
        (baselines["initiative_id"] == "did-plate") & (baselines["unit_id"] == "t0-plate")
    ].to_dict("records")
    window = obs[
        (obs["unit_id"] == "t0")
        & (obs["observed_on"] >= dt.date(2025, 2, 4))
        & (obs["observed_on"] <= dt.date(2025, 5, 4))
        & (obs["value"] != 1000.0)
    ]
    assert t0["baseline_observations"] == len(window) == 88
    assert t0["late_observations"] == 2
    assert t0["baseline_mean"] == pytest.approx(window["value"].mean(), rel=1e-12)
