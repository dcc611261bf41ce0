"""Rollout design: balanced randomised waves, the MDE against a simulation, the registry block."""

from __future__ import annotations

import datetime as dt
import random
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from sources.planning.assign import Candidate, PlanningError, assign_waves, imbalance
from sources.planning.power import Design, estimate, mde, simulated_mde
from sources.planning.writer import insert_plan
from sources.portfolio.registry import RegistryError, parse_registry
from sources.portfolio.tables import portfolio_tables
from tests.dbt.warehouse_fixture import REGISTRY_PATH
from tests.dbt.worlds import hand_estimate

WAVES = (dt.date(2025, 3, 3), dt.date(2025, 6, 2), dt.date(2025, 11, 3))


def _candidates(rng: random.Random) -> list[Candidate]:
    out = []
    for bu, n in (("ops", rng.randint(4, 11)), ("retail", rng.randint(3, 9)), ("cs", 2)):
        out += [Candidate(f"{bu}-{k:02d}", bu, rng.uniform(10, 1000)) for k in range(n)]
    return out


@pytest.mark.parametrize("n_waves", [2, 3, 4])
def test_waves_are_balanced_across_strata_for_every_seed(n_waves):
    rng = random.Random(n_waves)
    plans = set()
    for seed in range(40):
        cands = _candidates(rng)
        plan = assign_waves(cands, n_waves, seed, n_size_buckets=2)
        placed = [u for w in plan.waves for u in w]
        assert sorted(placed) == sorted(c.unit_id for c in cands)  # every unit exactly once
        assert imbalance(plan) <= 1  # each wave has its share of each stratum, within 1
        sizes = [len(w) for w in plan.waves]
        assert max(sizes) - min(sizes) <= 1
        # Strata: business unit x size half; the larger half has the larger volumes.
        volume = {c.unit_id: c.volume for c in cands}
        small = plan.strata["ops/size-1of2"]
        large = plan.strata["ops/size-2of2"]
        assert max(volume[u] for u in small) <= min(volume[u] for u in large)
        assert assign_waves(cands, n_waves, seed) == plan  # deterministic per seed
        plans.add(plan.waves)
    assert len(plans) == 40  # different seeds and candidates, different draws


def test_same_candidates_different_seeds_differ_and_every_unit_moves():
    cands = [Candidate(f"u{k:02d}", "ops", float(k)) for k in range(12)]
    first_wave_counts: dict[str, int] = {c.unit_id: 0 for c in cands}
    for seed in range(300):
        for u in assign_waves(cands, 3, seed).waves[0]:
            first_wave_counts[u] += 1
    # Randomised: each unit lands in the first wave about a third of the time.
    assert all(70 <= n <= 130 for n in first_wave_counts.values()), first_wave_counts


def test_too_few_units_for_the_waves_is_refused():
    with pytest.raises(PlanningError, match="cannot fill 3 waves"):
        assign_waves([Candidate(f"u{k}", "a", 1.0) for k in range(5)], 3, seed=1)


# --- the MDE ---------------------------------------------------------------------------------


def _design(n_units=12, n_controls=4, post_months=6) -> Design:
    plan = assign_waves(
        [Candidate(f"u{k:02d}", "ops", float(k)) for k in range(n_units)], 3, seed=5
    )
    go_lives = {u: WAVES[k] for k, wave in enumerate(plan.waves) for u in wave}
    end_month = dt.date(2026, post_months, 1)  # the last wave's first post month is 2025-12
    return Design(go_lives, tuple(f"c{k}" for k in range(n_controls)), 90, 28, end_month)


def test_python_estimator_equals_the_hand_computed_one_on_a_world():
    """power.estimate (month values) against tests/dbt/worlds.hand_estimate (daily rows), which
    test_attribution shows equal to the dbt models to 1e-9: so the simulation runs the dbt
    estimator. Daily values are constant within a unit-month, so both see the same months."""
    design = _design()
    months = design.months()
    rng = np.random.default_rng(3)
    values = rng.normal(0, 1, (len(design.units), len(months))) + rng.normal(10, 2, (12 + 4, 1))
    rows = []
    for i, unit in enumerate(design.units):
        for j, month in enumerate(months):
            day = month
            while day.month == month.month:
                rows.append((unit, day, values[i, j]))
                day += dt.timedelta(days=1)
    obs = pd.DataFrame(rows, columns=["unit_id", "observed_on", "value"])
    obs["weight"] = np.nan
    expected = hand_estimate(
        obs, design.go_lives, baseline_days=90, ramp_up_days=28, min_observations=30
    )
    est, se = estimate(design, values[None])
    assert est[0] == pytest.approx(expected["attributed_change"], rel=1e-9)
    assert se[0] == pytest.approx(expected["standard_error"], rel=1e-9)


@pytest.mark.parametrize(
    ("n_units", "n_controls", "sigma", "rho"),
    [(12, 4, 0.55, 0.0), (12, 4, 1.0, 0.5), (18, 6, 2.0, 0.3), (8, 2, 0.5, 0.0)],
)
def test_mde_matches_a_simulation_of_the_planned_design(n_units, n_controls, sigma, rho):
    design = _design(n_units, n_controls)
    planned = mde(design, sigma, rho)
    started = time.perf_counter()
    simulated, sd = simulated_mde(design, sigma, rho, n_sims=4000, seed=11)
    assert time.perf_counter() - started < 15
    # The analytic SE is the estimator's SD under the model (Monte Carlo error about 1%)...
    assert sd == pytest.approx(planned.standard_error, rel=0.05)
    # ...and the effect found with 80% power by the estimator's own t test is the MDE.
    assert simulated == pytest.approx(planned.mde, rel=0.10), (simulated, planned)
    assert planned.mde > 2.8 * planned.standard_error  # t quantiles, not z: honest small df


def test_mde_falls_with_more_units_and_rises_with_noise():
    small, large = mde(_design(8, 2), 1.0, 0.0), mde(_design(18, 6), 1.0, 0.0)
    assert large.mde < small.mde
    assert mde(_design(), 2.0, 0.0).mde == pytest.approx(2 * mde(_design(), 1.0, 0.0).mde)


# --- the registry block -----------------------------------------------------------------------


def _plan(**changes) -> dict:
    plan = {
        "method": "stratified randomised waves",
        "seed": 7,
        "planned_on": dt.date(2024, 11, 4),
        "kpi_id": "overtime_hours",
        "size_buckets": 2,
        "strata": {
            "operations/size-1of2": ["wh-01", "wh-03"],
            "operations/size-2of2": ["wh-05", "wh-09"],
        },
        "waves": [
            {"wave": 1, "go_live": dt.date(2025, 2, 10), "units": ["wh-01", "wh-05"]},
            {"wave": 2, "go_live": dt.date(2025, 5, 5), "units": ["wh-03", "wh-09"]},
        ],
        "controls": ["wh-10"],
        "mde": {
            "value": 1.5,
            "relative": 0.04,
            "baseline_value": 35.0,
            "standard_error": 0.4,
            "degrees_of_freedom": 3.2,
            "residual_sd": 0.9,
            "serial_correlation": 0.1,
            "between_unit_sd": 4.0,
            "baseline_from": dt.date(2024, 11, 1),
            "baseline_to": dt.date(2025, 1, 1),
            "end_month": dt.date(2025, 12, 1),
        },
    }
    plan.update(changes)
    return plan


def test_plan_is_written_into_the_registry_keeping_everything_else():
    text = REGISTRY_PATH.read_text(encoding="utf-8")
    new = insert_plan(text, "ops-demand-forecast", _plan())
    # Only lines were added: every comment and line of the original is still there, in order.
    old_lines, new_lines = text.splitlines(), new.splitlines()
    it = iter(new_lines)
    assert all(line in it for line in old_lines)
    assert len(new_lines) > len(old_lines)
    reg = parse_registry(new)
    (ini,) = [i for i in reg.initiatives if i.initiative_id == "ops-demand-forecast"]
    assert ini.rollout_plan.waves[1].units == ["wh-03", "wh-09"]
    assert ini.rollout_plan.mde.value == 1.5
    # Writing again replaces the block, it never stacks a second one.
    again = insert_plan(new, "ops-demand-forecast", _plan(seed=8))
    assert again.count("rollout_plan:") == new.count("rollout_plan:")
    assert "seed: 8" in again and len(again.splitlines()) == len(new_lines)
    tables = portfolio_tables(parse_registry(again))
    (row,) = [
        r for r in tables["portfolio_rollout_plans"] if r["initiative_id"] == "ops-demand-forecast"
    ]
    assert (
        row["plan_seed"],
        row["n_waves"],
        row["n_planned_units"],
        row["n_planned_controls"],
    ) == (8, 2, 4, 1)
    units = {
        r["unit_id"]: r
        for r in tables["portfolio_rollout_plan_units"]
        if r["initiative_id"] == "ops-demand-forecast"
    }
    assert units["wh-09"]["planned_go_live_on"] == dt.date(2025, 5, 5)
    assert units["wh-10"]["wave_number"] is None


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        (
            {"kpi_id": "pick_time_seconds"},
            "rollout_plan.kpi_id",
            "not one of the initiative's KPIs",
        ),
        ({"controls": ["wh-05"]}, "rollout_plan.controls", "also in wave 1"),
        ({"controls": ["wh-99"]}, "rollout_plan", "unknown unit 'wh-99'"),
        (
            {"planned_on": dt.date(2025, 3, 1)},
            "rollout_plan.planned_on",
            "before anything goes live",
        ),
        ({"seed": "x"}, "rollout_plan.seed", "integer"),
    ],
)
def test_a_bad_plan_names_file_initiative_and_field(changes, field, says):
    raw = yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))
    (ini,) = [i for i in raw["initiatives"] if i["initiative_id"] == "ops-demand-forecast"]
    ini["rollout_plan"] = _plan(**changes)
    with pytest.raises(RegistryError) as err:
        parse_registry(yaml.safe_dump(raw), "portfolio.yaml")
    message = str(err.value)
    assert message.startswith("portfolio.yaml:")
    assert f"initiative 'ops-demand-forecast', field '{field}" in message and says in message
