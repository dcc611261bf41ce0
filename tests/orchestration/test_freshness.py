"""Freshness per source: a stale source warns naming the source, its lag and its limit."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pytest

from assets.ingest.freshness import source_freshness, source_freshness_checks
from orchestration.resources import Inputs, Warehouse
from orchestration.settings import get_settings
from sources.files import ensure_raw_schema, load_sources_config

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def warehouse(tmp_path):
    """pos delivered 3 days ago, wms last delivered 100 days ago, erp never (limit 45 each)."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_raw_schema(con)
        for system, age in (("pos", 3), ("pos", 20), ("wms", 100), ("wms", 130)):
            con.execute(
                "insert into raw.kpi_observations (source_system, unit_id, kpi_id, observed_on, "
                "value, source_file, source_row, loaded_at) values (?, 'u', 'k', ?, 1, 'f', 1, ?)",
                [system, TODAY - dt.timedelta(days=age), dt.datetime(2026, 1, 2, 3, 4)],
            )
    return path


def _cfg(system: str):
    configs = load_sources_config(get_settings().sources_config)
    return next(c for c in configs if c.source_system == system)


def test_source_freshness_measures_the_lag_against_the_limit(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        fresh = source_freshness(con, _cfg("pos"), TODAY)
        stale = source_freshness(con, _cfg("wms"), TODAY)
        empty = source_freshness(con, _cfg("erp"), TODAY)
    assert (fresh.passed, fresh.lag_days, fresh.max_lag_days) == (True, 3, 45)
    assert (stale.passed, stale.lag_days) == (False, 100)
    assert stale.message.startswith("source 'wms' (raw.kpi_observations) stale: newest observed_on")
    assert "is 100 days old, limit 45 days" in stale.message
    assert not empty.passed and "source 'erp'" in empty.message and "no rows" in empty.message


def test_freshness_checks_run_in_dagster_and_warn(warehouse):
    settings = get_settings()
    keys = {dg.AssetKey(["evidence", t]) for t in ("kpi_observations", "ai_costs", "adoption")}
    stubs = [dg.AssetSpec(k) for k in keys]
    result = dg.materialize(
        [*stubs, source_freshness_checks],
        selection=dg.AssetSelection.checks_for_assets(*keys),
        resources={
            "warehouse": Warehouse(path=str(warehouse)),
            "inputs": Inputs(
                registry_path=str(settings.registry_path),
                sources_config=str(settings.sources_config),
                sources_dir=str(settings.sources_dir),
                reports_dir=str(settings.reports_dir),
            ),
        },
    )
    assert result.success, "a stale source warns; it never fails the run"
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    configured = {
        f"freshness_{c.source_system}" for c in load_sources_config(settings.sources_config)
    }
    assert set(evaluations) == configured
    assert evaluations["freshness_pos"].passed
    stale = evaluations["freshness_wms"]
    assert not stale.passed and stale.severity == dg.AssetCheckSeverity.WARN
    assert (
        "source 'wms'" in stale.description and "100 days old, limit 45 days" in stale.description
    )
    assert stale.metadata["lag_days"].value == 100
    spec = next(s for s in source_freshness_checks.check_specs if s.name == "freshness_wms")
    assert spec.blocking is False
