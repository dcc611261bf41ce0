"""Decision-grade statistics on panels with known properties (docs/method.md, last section).

One warehouse of hand-made monthly panels (tests/dbt/worlds.py) serves every test: CUPED
variance reduction, the parallel-trends sensitivity, empirical-Bayes shrinkage across the
panels (they form one portfolio) and the value decay watch with its webhook alerts.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.dbt.worlds import panel_world, run_dbt, write_warehouse

pytestmark = pytest.mark.slow

GO_LIVE = dt.date(2025, 5, 1)
MONTHS = [dt.date(2024 + (6 + i) // 12, (6 + i) % 12 + 1, 1) for i in range(24)]  # 2024-07..
GO_LIVE_INDEX = MONTHS.index(GO_LIVE)
# Monthly grain, a two-month baseline window (March, April 2025), no ramp-up.
SETTINGS = {"baseline_days": 62, "ramp_up_days": 0, "min_observations": 2}


def panel(
    rng, *, n_treated, n_control, level, unit_sd, noise, effect=0.0, decay_after=None, pre_drift=0.0
):
    """One observation per unit and month. Treated units get `effect` from go-live (none from
    `decay_after` months after it) and drift by `pre_drift` per month until go-live, level
    from then on."""
    rows, go_lives = [], {}
    units = [f"t{i:02d}" for i in range(n_treated)] + [f"c{i:02d}" for i in range(n_control)]
    for unit in units:
        treated = unit.startswith("t")
        if treated:
            go_lives[unit] = GO_LIVE
        offset = rng.normal(0, unit_sd)
        for i, month in enumerate(MONTHS):
            since = i - GO_LIVE_INDEX
            value = level + offset + rng.normal(0, noise)
            if treated and since >= 0 and (decay_after is None or since < decay_after):
                value += effect
            if treated and since < 0:
                value += pre_drift * since
            rows.append((unit, month, value))
    return pd.DataFrame(rows, columns=["unit_id", "observed_on", "value"]), go_lives


SHRINK_TYPICAL = (3.0, 4.0, 5.0, 6.0, 7.0, 5.0)
# theta of Y - theta X is var(a) / (var(a) + noise^2 / 2) for a two-month baseline.
CUPED = {"unit_sd": 0.5, "noise": 2.0}
CUPED_THETA = CUPED["unit_sd"] ** 2 / (CUPED["unit_sd"] ** 2 + CUPED["noise"] ** 2 / 2)


def panels(rng) -> dict:
    out = {
        "cuped": panel(rng, n_treated=15, n_control=15, level=100, effect=1.0, **CUPED),
        "fragile": panel(
            rng, n_treated=12, n_control=12, level=10, unit_sd=1, noise=0.3, pre_drift=1.0
        ),
        "clean": panel(rng, n_treated=12, n_control=12, level=20, unit_sd=1, noise=0.5, effect=3),
        "precise": panel(
            rng, n_treated=30, n_control=30, level=100, unit_sd=2, noise=0.2, effect=10
        ),
        "noisy": panel(rng, n_treated=3, n_control=3, level=100, unit_sd=2, noise=30, effect=60),
        "decay": panel(
            rng, n_treated=10, n_control=10, level=100, unit_sd=2, noise=1, effect=5, decay_after=8
        ),
        "stable": panel(rng, n_treated=10, n_control=10, level=100, unit_sd=2, noise=1, effect=5),
    }
    for i, effect in enumerate(SHRINK_TYPICAL):
        out[f"typical{i}"] = panel(
            rng, n_treated=12, n_control=12, level=100, unit_sd=2, noise=2, effect=effect
        )
    return out


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from assets.quality.gates import RESULTS_DDL

    tmp = tmp_path_factory.mktemp("decision_grade")
    built = [
        panel_world(f"-{name}", obs, go_lives, **SETTINGS)
        for name, (obs, go_lives) in panels(np.random.default_rng(20260109)).items()
    ]
    path = write_warehouse(tmp / "decision_grade.duckdb", built)
    with duckdb.connect(str(path)) as con:  # the evidence gates ran and passed
        con.execute("create schema quality")
        con.execute(RESULTS_DDL)
        con.execute(
            "insert into quality.evidence_checks (run_id, checked_at, check_name, check_level, "
            "is_check_summary, status) values ('r1', timestamp '2026-07-01', 'schema', "
            "'blocking', true, 'pass')"
        )
    run_dbt(path, tmp, ["rpt_portfolio_decision_grade", "fct_value_decay_incidents"])
    return path


def _table(warehouse, table: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse)) as con:
        frame = con.execute(f"select * from {table}").df()
    if "initiative_id" in frame:
        frame["panel"] = frame["initiative_id"].str.removeprefix("did-")
        frame = frame.set_index("panel", drop=False)
    return frame


# --- variance reduction ---------------------------------------------------------------------


def test_cuped_narrows_the_interval_without_moving_the_estimate(warehouse):
    adjusted = _table(warehouse, "marts.fct_initiative_kpi_adjusted_effects")
    row = adjusted.loc["cuped"]
    print(
        f"\ncuped: theta {row.cuped_theta:.3f} (expected {CUPED_THETA:.3f}), "
        f"width ratio {row.interval_width_ratio:.3f}"
    )
    # A noisy two-month baseline and small unit differences: the best theta is near 0.11,
    # far from the 1 of plain difference-in-differences.
    assert row.n_theta_unit_months == 30 * 3
    assert abs(row.cuped_theta - CUPED_THETA) < 0.3
    assert row.interval_width_ratio < 0.8
    assert row.adjusted_ci_low < 1.0 < row.adjusted_ci_high  # the true effect is inside
    # Point estimates move only within the noise of their difference, on every panel with
    # parallel trends (the drifting panel's pre-period also biases theta). Panels with fewer
    # than 20 pre-window unit-months keep theta 1: the estimates are identical.
    effects = _table(warehouse, "marts.fct_initiative_kpi_effects")
    assert adjusted["adjusted_favourable_change"].notna().all()
    plain = adjusted[adjusted["n_theta_unit_months"] < 20]
    assert list(plain["panel"]) == ["noisy"] and (plain["cuped_theta"] == 1).all()
    assert plain["adjustment_difference"].abs().max() < 1e-12
    parallel = adjusted[
        (adjusted["n_theta_unit_months"] >= 20) & ~effects.loc[adjusted.index, "has_pre_trend"]
    ]
    assert len(parallel) == len(adjusted) - 2
    moved = parallel["adjustment_difference"].abs() / parallel["difference_standard_error"]
    assert (moved < 2).all(), moved.to_string()


# --- sensitivity ----------------------------------------------------------------------------


def test_a_pre_trend_makes_an_estimate_fragile_and_a_clean_large_effect_is_not(warehouse):
    sensitivity = _table(warehouse, "marts.fct_initiative_kpi_sensitivity")
    fragile, clean = sensitivity.loc["fragile"], sensitivity.loc["clean"]
    # The drift stops at go-live: the treated units' last level reads as an effect of about
    # 1.5, while six months before go-live they were about 4.5 below the baseline window.
    assert fragile.evidence_verdict == "measurable value" and fragile.has_pre_trend
    assert fragile.max_pre_period_deviation == pytest.approx(4.5, abs=0.5)
    assert fragile.breakdown_m < 1 and fragile.is_fragile
    assert clean.evidence_verdict == "measurable value" and not clean.has_pre_trend
    assert clean.breakdown_m > 1 and not clean.is_fragile
    expected = (clean.ci_low) / clean.max_pre_period_deviation
    assert clean.breakdown_m == pytest.approx(expected, rel=1e-12)
    # At M = breakdown the widened interval touches zero.
    assert clean.ci_low - clean.breakdown_m * clean.max_pre_period_deviation == pytest.approx(
        0, abs=1e-9
    )


# --- shrinkage -------------------------------------------------------------------------------


def _dersimonian_laird(r: pd.Series, s: pd.Series) -> tuple[float, float]:
    w = 1 / s**2
    fixed = (w * r).sum() / w.sum()
    q = (w * (r - fixed) ** 2).sum()
    tau2 = max(0.0, (q - (len(r) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    w_star = 1 / (s**2 + tau2)
    return float((w_star * r).sum() / w_star.sum()), float(np.sqrt(tau2))


def test_shrinkage_pulls_a_noisy_win_to_the_mean_and_keeps_a_precise_effect(warehouse):
    shrunk = _table(warehouse, "marts.fct_initiative_kpi_shrunk_effects")
    fit = shrunk[shrunk["is_in_fit"]]
    mu, tau = _dersimonian_laird(fit["relative_effect"], fit["relative_standard_error"])
    assert shrunk["prior_mean"].iloc[0] == pytest.approx(mu, rel=1e-9)
    assert shrunk["prior_sd"].iloc[0] == pytest.approx(tau, rel=1e-9)
    noisy, precise = shrunk.loc["noisy"], shrunk.loc["precise"]
    print(
        f"\nprior mean {mu:.4f}, sd {tau:.4f}; noisy {noisy.relative_effect:.3f} -> "
        f"{noisy.shrunk_relative_effect:.3f}; precise {precise.relative_effect:.4f} -> "
        f"{precise.shrunk_relative_effect:.4f}"
    )
    assert noisy.is_in_fit and noisy.relative_effect > mu + 0.05  # a large, noisy win
    assert noisy.shrinkage_weight < 0.5
    assert abs(noisy.shrunk_relative_effect - mu) < 0.5 * abs(noisy.relative_effect - mu)
    assert noisy.shrunk_relative_effect > mu  # toward the mean, not past it
    assert precise.shrinkage_weight > 0.95
    assert precise.shrunk_favourable_change == pytest.approx(
        precise.attributed_favourable_change, rel=0.03
    )


def test_an_estimate_failing_diagnostics_does_not_move_the_prior(warehouse):
    shrunk = _table(warehouse, "marts.fct_initiative_kpi_shrunk_effects")
    fragile = shrunk.loc["fragile"]
    assert not fragile.is_in_fit  # pre-trend flagged
    assert fragile.shrunk_relative_effect is not None  # still shrunk, like every estimate
    fit = shrunk[shrunk["is_in_fit"]]
    with_it = pd.concat([fit, shrunk.loc[["fragile"]]])
    mu_with, _ = _dersimonian_laird(with_it["relative_effect"], with_it["relative_standard_error"])
    mu = shrunk["prior_mean"].iloc[0]
    assert abs(mu_with - mu) > 0.005  # it would have mattered
    assert shrunk["n_in_fit"].iloc[0] == len(fit) == len(shrunk) - 1


def test_portfolio_report_shows_naive_and_shrunk_totals(warehouse):
    shrunk = _table(warehouse, "marts.fct_initiative_kpi_shrunk_effects")
    (report,) = _table(warehouse, "reports.rpt_portfolio_decision_grade").to_dict("records")
    assert report["naive_value_amount"] == pytest.approx(
        shrunk["attributed_value_amount"].sum(), rel=1e-12
    )
    assert report["shrunk_value_amount"] == pytest.approx(
        shrunk["shrunk_value_amount"].sum(), rel=1e-12
    )
    adjusted = _table(warehouse, "marts.fct_initiative_kpi_adjusted_effects")
    assert report["median_interval_width_ratio"] == pytest.approx(
        adjusted["interval_width_ratio"].median(), rel=1e-12
    )
    assert report["n_fragile_estimates"] >= 1


# --- value decay watch ---------------------------------------------------------------------


def test_a_decaying_effect_is_one_incident_and_a_stable_one_none(warehouse):
    incidents = _table(warehouse, "marts.fct_value_decay_incidents")
    decay = incidents[incidents["panel"] == "decay"]
    assert len(decay) == 1
    (row,) = decay.to_dict("records")
    # The effect (5) is gone from the ninth post month: the first recent window with it.
    assert row["detected_month"].date() == MONTHS[GO_LIVE_INDEX + 8]
    assert row["earlier_favourable_change"] == pytest.approx(5, abs=0.5)
    assert row["t_statistic"] < -row["critical_value"]
    assert row["is_open"] and pd.isna(row["cleared_month"])  # the effect never comes back
    assert (incidents["panel"] == "stable").sum() == 0


def test_decay_degrees_of_freedom_of_a_balanced_panel_are_not_rounding_noise(warehouse):
    # Every unit is in every cell of the stable panel: its recent and earlier design weights
    # cancel exactly, so Welch-Satterthwaite has nothing to weigh and falls back to
    # n_treated + n_control - 2. Left to floating point, the 1e-17 residue gave 1.6 in one
    # build and 2.3 in the next.
    tested = _table(warehouse, "intermediate.int_decay_windows_tested")
    assert len(tested.loc[["stable"]]) > 0
    assert (tested.loc[["stable"], "degrees_of_freedom"] == 10 + 10 - 2).all()


def test_the_decay_watch_alerts_once_across_two_runs(warehouse, webhook_receiver, monkeypatch):
    import dagster as dg

    from assets.watch.decay_alerts import decay_alerts
    from orchestration.resources import Warehouse

    monkeypatch.setenv("VALUELEDGER_ALERT_WEBHOOK", webhook_receiver.url)
    resources = {"warehouse": Warehouse(path=str(warehouse))}
    first = dg.materialize([decay_alerts], resources=resources)
    after_first = [body for _, body in webhook_receiver.received]
    second = dg.materialize([decay_alerts], resources=resources)
    assert first.success and second.success
    posted = [body for _, body in webhook_receiver.received]
    assert posted == after_first  # the second run posts nothing
    panels_alerted = [p["initiative_id"].removeprefix("did-") for p in after_first]
    assert panels_alerted.count("decay") == 1 and "stable" not in panels_alerted
    (payload,) = [p for p in after_first if p["initiative_id"] == "did-decay"]
    assert payload["kind"] == "value_decay" and payload["difference"] < 0
    with duckdb.connect(str(warehouse)) as con:
        recorded = con.execute("select incident_id from quality.decay_alerts").fetchall()
    assert len(recorded) == len(after_first)
