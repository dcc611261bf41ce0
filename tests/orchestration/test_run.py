"""The whole job on the sample portfolio: marts for every initiative, and effects recovered."""

from __future__ import annotations

import json

import duckdb
import pytest

from sources.portfolio.registry import load_registry
from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def con(built_home):
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def truth(built_home) -> dict:
    return json.loads((built_home / "ground_truth.json").read_text())


def test_marts_hold_every_sample_initiative(con):
    registry = load_registry(REPO / "sources" / "portfolio" / "portfolio.yaml")
    ids = {i.initiative_id for i in registry.initiatives}
    assert {
        r[0] for r in con.execute("select initiative_id from marts.dim_initiatives").fetchall()
    } == ids
    rolled_out = {i.initiative_id for i in registry.initiatives if i.rollout}
    measured = {
        r[0]
        for r in con.execute(
            "select distinct initiative_id from marts.fct_initiative_kpi_monthly"
        ).fetchall()
    }
    assert measured == rolled_out
    valued = {
        r[0]
        for r in con.execute(
            "select distinct initiative_id from marts.fct_initiative_value_monthly"
        ).fetchall()
    }
    assert valued == ids, "every initiative has costs, so every one has value rows"


def test_every_load_balances(con):
    unbalanced = con.execute(
        "select source_file from raw.load_log where rows_read <> rows_loaded + rows_quarantined"
    ).fetchall()
    assert unbalanced == []
    assert con.execute("select count(*) from raw.load_log").fetchone()[0] >= 100


def _naive_changes(con) -> dict[tuple[str, str], float]:
    """Mean over treated units of (post-ramp-up mean - baseline mean), as the marts compute it."""
    rows = con.execute(
        """
        select initiative_id, kpi_id, avg(change_value)
        from intermediate.int_changes_measured_to_date
        where has_min_observations
        group by all
        """
    ).fetchall()
    return {(i, k): v for i, k, v in rows}


def test_naive_change_recovers_injected_effects(con, truth):
    """Tolerance from the noise: 4 noise-only standard errors of the naive change.

    naive_se = noise_sd * sqrt(mean_u(1/n_base_u + 1/n_post_u)) / sqrt(n_units) comes with the
    ground truth; 4 SE leaves a false failure chance below 1e-4 per estimate. The naive change
    also carries the generator's deterministic drift between the windows (seasonality, trend,
    shock), stated as naive_bias; where no shock falls in the window that drift is small and is
    added to the tolerance.
    """
    measured = _naive_changes(con)
    checked = 0
    for e in truth["effects"]:
        key = (e["initiative_id"], e["kpi_id"])
        if key not in measured:
            continue
        # The marts' naive change is exactly the injected effect plus drift plus noise.
        assert measured[key] == pytest.approx(
            e["true_effect"] + e["naive_bias"], abs=4 * e["naive_se"]
        ), key
        if not e["shock_in_window"]:
            tolerance = 4 * e["naive_se"] + abs(e["naive_bias"])
            assert abs(measured[key] - e["true_effect"]) <= tolerance, (key, measured[key], e)
            checked += 1
    assert checked >= 8


def test_the_confounded_initiative_is_visibly_biased(con, truth):
    """A company-wide shock at go-live is booked as AI value by the naive change."""
    [e] = [e for e in truth["effects"] if e["shock_in_window"] and e["true_effect"] != 0]
    measured = _naive_changes(con)[(e["initiative_id"], e["kpi_id"])]
    assert abs(measured - e["true_effect"]) > 10 * e["naive_se"]


def test_summary_file_and_value_arithmetic(built_home, con):
    summary = (built_home / "reports" / "portfolio_summary.csv").read_text().splitlines()
    assert summary[0].startswith("initiative_id,")
    assert (
        len(summary) - 1
        == con.execute("select count(*) from reports.rpt_initiative_summary").fetchone()[0]
    )
    harmful = con.execute(
        "select sum(value_amount) from marts.fct_initiative_value_monthly "
        "where initiative_id = 'cs-sentiment-routing'"
    ).fetchone()[0]
    assert harmful < 0, "a harmful initiative destroys value, with the sign convention"


def test_printed_summary_states_naive_and_shrunk_totals(built_home, con, monkeypatch, capsys):
    from orchestration.cli import print_summary
    from orchestration.settings import get_settings

    for var in ("VALUELEDGER_WAREHOUSE", "VALUELEDGER_REPORTS", "VALUELEDGER_ENV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VALUELEDGER_HOME", str(built_home))
    naive, shrunk = con.execute(
        "select naive_value_amount, shrunk_value_amount from reports.rpt_portfolio_decision_grade "
        "where currency = 'EUR'"
    ).fetchone()
    print_summary(get_settings())
    out = capsys.readouterr().out
    assert (
        f"value to date (EUR): naive {naive:,.0f}, shrunk for the winner's curse {shrunk:,.0f}\n"
        in out
    )
