"""Pre-registration: target, MDE and gate thresholds freeze at the first go-live.

A fixture warehouse is built and snapshotted, the registry changed, snapshotted again: changes
to pre-registered items of a live initiative are post hoc, the same changes to an initiative
that has not gone live yet are not, and a budget change after go-live is listed but not post hoc.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
import yaml

from tests.dbt.test_discipline import _dbt, _rows, _write_registry
from tests.dbt.warehouse_fixture import REGISTRY_PATH, build_warehouse


def _initiative(raw: dict, initiative_id: str) -> dict:
    (ini,) = [i for i in raw["initiatives"] if i["initiative_id"] == initiative_id]
    return ini


@pytest.mark.slow
def test_changes_after_go_live_are_post_hoc_and_before_are_not(tmp_path):
    raw = yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))
    future = dt.date.today() + dt.timedelta(days=400)  # not live when the snapshots run
    for r in _initiative(raw, "retail-complaint-triage")["rollout"]:
        r["go_live"] = future
    before = tmp_path / "before.yaml"
    before.write_text(yaml.safe_dump(raw, sort_keys=False))
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb", before)
    _dbt(warehouse, tmp_path, "snapshot")
    _dbt(warehouse, tmp_path, "run", "--select", "+fct_registry_changes")

    assist = _initiative(raw, "cs-agent-assist")
    assist["kpis"][0]["target"]["change"] = -0.08
    assist["budget"]["amount"] = 500000
    pick = _initiative(raw, "ops-pick-path")
    pick["gate_criteria"] = {"production": {"min_target_attainment": 0.3}}
    pick["rollout_plan"]["mde"]["value"] = 0.8
    triage = _initiative(raw, "retail-complaint-triage")
    triage["kpis"][0]["target"]["change"] = -0.10
    triage["gate_criteria"] = {"production": {"min_target_attainment": 0.3}}
    after = tmp_path / "after.yaml"
    after.write_text(yaml.safe_dump(raw, sort_keys=False))
    with duckdb.connect(str(warehouse)) as con:
        _write_registry(con, after)
    _dbt(warehouse, tmp_path, "snapshot")
    _dbt(warehouse, tmp_path, "run", "--select", "fct_registry_changes")

    with duckdb.connect(str(warehouse)) as con:
        changes = _rows(
            con,
            "select * from marts.fct_registry_changes "
            "order by initiative_id, change_subject, attribute",
        )
    got = {
        (c["initiative_id"], c["change_subject"], c["attribute"]): (
            c["value_from"],
            c["value_to"],
            c["is_after_go_live"],
            c["is_post_hoc"],
        )
        for c in changes
    }
    assert got == {
        ("cs-agent-assist", "initiative", "budget_amount"): ("480000.0", "500000.0", True, False),
        ("cs-agent-assist", "kpi target", "target_change"): ("-0.12", "-0.08", True, True),
        ("ops-pick-path", "gate criterion", "threshold"): ("0.5", "0.3", True, True),
        ("ops-pick-path", "rollout plan", "mde_value"): ("1.0992", "0.8", True, True),
        ("retail-complaint-triage", "gate criterion", "threshold"): ("0.5", "0.3", False, False),
        ("retail-complaint-triage", "kpi target", "target_change"): ("-0.15", "-0.1", False, False),
    }
