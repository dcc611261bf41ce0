"""The job's dbt resource runs dbt in this process and streams its events as dagster-dbt does."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from orchestration.dbt_in_process import DbtCli, InProcessDbtInvocation
from orchestration.definitions import defs


def test_dbt_runs_in_this_process_and_releases_the_warehouse(tmp_path, monkeypatch):
    dbt = defs.resources["dbt"]
    assert isinstance(dbt, DbtCli)
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("VALUELEDGER_WAREHOUSE", str(warehouse))
    # `dbt debug` connects to the profile's warehouse without parsing the project.
    invocation = dbt.cli(["debug"], target_path=tmp_path / "target")
    assert isinstance(invocation, InProcessDbtInvocation)
    names = [event.raw_event["info"]["name"] for event in invocation.stream_raw_events()]
    assert invocation.is_successful()
    assert "MainReportVersion" in names and "DebugCmdResult" in names
    # dbt opened the file here (it exists now) and closed its database after the command:
    # dbt-duckdb keeps it open by default, and a connection of this process with other
    # settings (the exports, the summary) would then fail.
    assert warehouse.exists()
    duckdb.connect(str(warehouse), read_only=True).close()
    assert (tmp_path / "target" / "dbt.log").exists()


def test_a_failing_dbt_command_raises_with_dbt_s_reason(tmp_path):
    invocation = defs.resources["dbt"].cli(
        ["debug", "--profile", "no_such_profile"], target_path=tmp_path
    )
    with pytest.raises(DagsterDbtCliRuntimeError, match="no_such_profile") as failure:
        invocation.wait()
    assert "dbt debug --profile no_such_profile" in str(failure.value)


def test_the_whole_run_recorded_every_dbt_model_and_test(built_home):
    # The events of the in-process dbt became Dagster's: a materialization per model and
    # snapshot, an asset check evaluation per data test, as dagster-dbt makes them.
    from assets.dbt_models import valueledger_dbt

    with dg.DagsterInstance.from_config(str(built_home / "dagster")) as instance:
        [run] = instance.get_runs(filters=dg.RunsFilter(job_name="valueledger"), limit=1)
        events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.is_dagster_event]
    materialized = {
        e.event_specific_data.materialization.asset_key
        for e in events
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    }
    evaluations = {
        e.event_specific_data.asset_check_key: e.event_specific_data.passed
        for e in events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    }
    assert set(valueledger_dbt.keys) <= materialized
    dbt_checks = set(valueledger_dbt.check_keys)
    assert len(dbt_checks) > 300
    assert {k: evaluations.get(k) for k in dbt_checks} == dict.fromkeys(dbt_checks, True)
