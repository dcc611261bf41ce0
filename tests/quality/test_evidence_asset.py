"""The gate in Dagster: a failing blocking check holds back the report and names the check;
passing gates let it publish. Runs the real assets in process on a temp warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.settings import apply_to_environ, get_settings

# Importing the report imports the dbt assets, which parse the project when its manifest is
# stale: this environment's dbt must be on PATH (the definitions module does the same).
apply_to_environ(get_settings())

from assets.quality.evidence_checks import ASSET_KEY, evidence_checks  # noqa: E402
from assets.reports.summary import SUMMARY_FILE, portfolio_summary  # noqa: E402
from orchestration.resources import Inputs, Warehouse  # noqa: E402
from tests.quality.warehouse import build, write_sources  # noqa: E402


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("asset")
    path = build(root / "warehouse.duckdb", write_sources(root / "sources"))
    with duckdb.connect(str(path)) as con:  # what dbt's report would hold
        con.execute("create schema reports")
        con.execute(
            "create table reports.rpt_initiative_summary as "
            "select 'cs-agent-assist' as initiative_id, 'aht_minutes' as kpi_id"
        )
    return path


def _materialize(template: Path, tmp_path: Path, breaking_sql: str | None = None):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(template, warehouse)
    if breaking_sql:
        with duckdb.connect(str(warehouse)) as con:
            con.execute(breaking_sql)
    reports = tmp_path / "reports"
    result = dg.materialize(
        [evidence_checks, portfolio_summary],
        resources={
            "warehouse": Warehouse(path=str(warehouse)),
            "inputs": Inputs(
                registry_path=str(tmp_path / "unused.yaml"),
                sources_config=str(tmp_path / "unused.yaml"),
                sources_dir=str(tmp_path),
                reports_dir=str(reports),
            ),
        },
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    return result, reports


def _checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_failing_blocking_check_holds_back_the_report_and_names_the_check(template, tmp_path):
    result, reports = _materialize(
        template,
        tmp_path,
        "insert into raw.kpi_observations values ('contact_centre', 'cc-02', 'aht_minutes', "
        "'2025-07-01', 500, 1, 'hand-made.csv', 1, now())",
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.event_specific_data.error.message
    assert "blocking asset check failed" in message
    assert "quality/evidence_checks: kpi_observations_value_range" in message
    # the report did not run: nothing published
    assert not result.asset_materializations_for_node("portfolio_summary")
    assert not (reports / SUMMARY_FILE).exists()
    # the UI shows which check failed and why
    check = _checks(result)["kpi_observations_value_range"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert (
        "cc-02: values" in check.description and "the catalogue allows 0 to 60" in check.description
    )
    assert "cc-02" in check.metadata["failing"].value
    assert check.metadata["level"].value == "blocking"
    # the gate's own results are recorded all the same
    assert result.asset_materializations_for_node("quality__evidence_checks")


def test_passing_gates_publish_the_report_and_warnings_do_not_block(template, tmp_path):
    result, reports = _materialize(template, tmp_path)
    assert result.success
    assert (reports / SUMMARY_FILE).exists()
    checks = _checks(result)
    assert all(
        checks[name].passed
        for name in checks
        if checks[name].asset_key == ASSET_KEY
        and name.endswith(("_range", "_unique", "_schema", "_volume"))
    )
    coverage = checks["baseline_coverage"]
    assert not coverage.passed and coverage.severity == dg.AssetCheckSeverity.WARN
    # unverified initiatives (no evidence at all) do not block either
    assert not checks["baseline_measurable"].passed
    docs = reports / "quality" / "data_docs" / "index.html"
    assert docs.exists()
