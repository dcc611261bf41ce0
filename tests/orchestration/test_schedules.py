"""Schedules, the landing-folder sensor and run-failure alerts to a real local webhook."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from orchestration.alerts import WEBHOOK_ENV, alert_on_run_failure
from orchestration.definitions import defs
from orchestration.partitions import (
    PARTITION_JOB,
    RANGE_END_TAG,
    RANGE_START_TAG,
    month_range_tags,
    observation_months,
    whole_range_tags,
)
from orchestration.schedules import new_landed_files

CONFIG = """
sources:
  - {source_system: pos, table: kpi_observations, format: csv, path: pos/*.csv}
"""


def test_schedules_target_the_job_over_every_month():
    keys = observation_months.get_partition_keys()
    for name, cron in (("daily_refresh", "0 5 * * *"), ("monthly_finance_close", "0 6 4 * *")):
        schedule = defs.resolve_schedule_def(name)
        assert schedule.job_name == "valueledger" and schedule.cron_schedule == cron
        [request] = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
        # One run over all observation months (make run does the same).
        assert request.tags[RANGE_START_TAG] == keys[0] == "2024-11-01"
        assert request.tags[RANGE_END_TAG] == keys[-1] == f"{dt.datetime.now(dt.UTC):%Y-%m}-01"
    assert defs.resolve_job_def("valueledger").partitions_def == observation_months
    assert defs.resolve_job_def(PARTITION_JOB).partitions_def == observation_months


def test_month_range_tags_name_the_allowed_range():
    assert month_range_tags("2025-06", "2025-08") == {
        "dagster/asset_partition_range_start": "2025-06-01",
        "dagster/asset_partition_range_end": "2025-08-01",
    }
    first = whole_range_tags()["dagster/asset_partition_range_start"]
    with pytest.raises(ValueError, match=rf"'1999-01'.*from {first[:7]}"):
        month_range_tags("1999-01", "1999-01")
    with pytest.raises(ValueError, match="ends before it starts"):
        month_range_tags("2025-08", "2025-06")


@pytest.fixture
def landing(tmp_path, monkeypatch):
    (tmp_path / "sources.yaml").write_text(CONFIG)
    (tmp_path / "pos").mkdir()
    monkeypatch.setenv("VALUELEDGER_SOURCES_CONFIG", str(tmp_path / "sources.yaml"))
    monkeypatch.setenv("VALUELEDGER_SOURCES", str(tmp_path))
    return tmp_path


def _evaluate(cursor):
    context = dg.build_sensor_context(cursor=cursor)
    result = new_landed_files(context)
    return result, context.cursor


def test_sensor_starts_a_run_for_new_files_only(landing):
    (landing / "pos" / "a.csv").write_text("unit_id\n")
    first, cursor = _evaluate(None)
    assert isinstance(first, dg.RunRequest)
    again, cursor = _evaluate(cursor)
    assert isinstance(again, dg.SkipReason)
    (landing / "pos" / "b.csv").write_text("unit_id\n")
    (landing / "pos" / "ignored.txt").write_text("not a source file")
    new, cursor = _evaluate(cursor)
    assert isinstance(new, dg.RunRequest) and new.run_key != first.run_key
    assert new.tags["valueledger/files"] == "1"
    assert new.tags[RANGE_START_TAG] == "2024-11-01"


@dg.op
def broken_step():
    raise RuntimeError("source wms is down")


@dg.job
def failing_job():
    broken_step()


def _failure_context(instance):
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    return dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()


def test_run_failure_posts_an_alert(webhook_receiver, monkeypatch):
    monkeypatch.setenv(WEBHOOK_ENV, f"{webhook_receiver.url}?token=s3cret")
    with dg.DagsterInstance.ephemeral() as instance:
        alert_on_run_failure(_failure_context(instance))
    [(path, payload)] = webhook_receiver.received
    assert path == "/hook?token=s3cret"
    assert payload["job"] == "failing_job" and payload["kind"] == "run_failure"
    assert payload["failed_steps"][0]["step"] == "broken_step"
    assert "source wms is down" in payload["failed_steps"][0]["error"]


def test_unreachable_webhook_is_logged_without_the_url(monkeypatch, capfd):
    monkeypatch.setenv(WEBHOOK_ENV, "http://127.0.0.1:9/hook?token=s3cret")
    with dg.DagsterInstance.ephemeral() as instance:
        context = _failure_context(instance)
        capfd.readouterr()
        alert_on_run_failure(context)
    logged = "".join(capfd.readouterr())
    assert "alert webhook" in logged and "s3cret" not in logged and "127.0.0.1:9" not in logged
