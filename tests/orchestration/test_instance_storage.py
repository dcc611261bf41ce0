"""The local instance: written once below the data folder, events stored without an fsync each."""

from __future__ import annotations

import sqlite3

import dagster as dg

from orchestration import cli, instance_storage
from orchestration.instance_storage import LocalEventLogStorage
from orchestration.settings import get_settings


@dg.asset
def counted() -> int:
    return 3


@dg.asset_check(asset=counted)
def counted_is_positive() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_cli_writes_the_local_instance_and_it_keeps_every_event(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("VALUELEDGER_HOME", str(tmp_path))
    cli._dagster_home(get_settings())
    home = tmp_path / "dagster"
    assert (home / "dagster.yaml").exists()

    defs = dg.Definitions(assets=[counted], asset_checks=[counted_is_positive])
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, LocalEventLogStorage)
        result = dg.materialize([counted], instance=instance, selection=[counted])
        assert result.success
        job = defs.resolve_implicit_global_asset_job_def()
        assert job.execute_in_process(instance=instance).success
        latest = instance.get_latest_materialization_event(dg.AssetKey("counted"))
        assert latest is not None and latest.run_id != result.run_id
        checks = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("counted"), "counted_is_positive"), limit=5
        )
        assert len(checks) == 1
        assert len(instance.get_run_records()) == 2

    # Another process (the webserver) reads the same files: every committed event is there.
    with sqlite3.connect(home / "history" / "runs" / "index.db") as con:
        (n,) = con.execute("select count(*) from event_logs").fetchone()
    assert n > 0


def test_an_instance_the_user_configured_is_left_alone(tmp_path, monkeypatch):
    own = tmp_path / "own"
    own.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(own))
    monkeypatch.setenv("VALUELEDGER_HOME", str(tmp_path))
    cli._dagster_home(get_settings())
    assert not (own / "dagster.yaml").exists()
    assert not (tmp_path / "dagster").exists()


def test_a_connection_commits_with_wal_and_synchronous_normal(tmp_path):
    storage = LocalEventLogStorage(str(tmp_path))
    with storage.index_connection() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert (mode, sync) == ("wal", 1)  # 1 = NORMAL


def test_shards_keep_one_connection_and_other_processes_read_while_it_is_open(
    tmp_path, monkeypatch
):
    opened, relaxed_sync = [], instance_storage._relaxed_sync

    def counted_sync(dbapi_connection, record):
        opened.append(dbapi_connection)
        relaxed_sync(dbapi_connection, record)

    storage = LocalEventLogStorage(str(tmp_path))
    monkeypatch.setattr(instance_storage, "_relaxed_sync", counted_sync)
    for shard in ["run-a", "other", "run-a", "other", "run-a"]:
        with storage._connect(shard) as conn:
            conn.exec_driver_sql("create table if not exists t (n integer)")
            conn.exec_driver_sql("insert into t values (1)")
        if len(opened) == 4:  # creating a shard's tables took two connections
            break
    for shard in ["run-a", "other"] * 5:
        with storage._connect(shard) as conn:
            conn.exec_driver_sql("insert into t values (1)")
    assert len(opened) == 4  # later events reuse the shard's connection
    # Committed rows are visible to another process's connection while ours stays open.
    with sqlite3.connect(tmp_path / "run-a.db") as other:
        assert other.execute("select count(*) from t").fetchone() == (6,)
    # A long-lived process keeps a few shards open, not one per run it ever read.
    for n in range(LocalEventLogStorage.OPEN_SHARDS + 2):
        with storage._connect(f"run-{n}"):
            pass
    assert len(storage._engines) == LocalEventLogStorage.OPEN_SHARDS
    assert "run-a" not in storage._engines
    with storage._connect("run-a") as conn:  # reopened on demand, rows intact
        assert conn.exec_driver_sql("select count(*) from t").scalar() == 6
    storage.dispose()
    assert storage._engines == {}


def test_has_table_remembers_tables_that_exist_only(tmp_path):
    storage = LocalEventLogStorage(str(tmp_path))
    assert storage.has_table("event_logs")
    assert not storage.has_table("later_table")
    with storage.index_connection() as conn:
        conn.exec_driver_sql("create table later_table (n integer)")
    assert storage.has_table("later_table")
