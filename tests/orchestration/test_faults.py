"""Faults: a load killed half-way, and a second run while one is writing.

Both use real processes: SIGKILL on a loader inside its write transaction, and a process that
holds DuckDB's write lock while another tries to run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.resources import Inputs, Warehouse, WarehouseBusy
from tests.conftest import REPO
from tests.quality.warehouse import CC_HEADER, REGISTRY_PATH, write_sources

# Loads the sample sources into a warehouse; with KILL_AT=n it announces the n-th write
# transaction from inside it and waits there to be killed.
LOADER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import duckdb
    import sources.connectors.batch as batch
    from sources.connectors.run import load_configured_source
    from tests.quality.warehouse import CONFIGS, rules, write_registry

    warehouse, root, kill_at = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    original, calls = batch._delete_owned, []

    def delete_then_wait(*args, **kwargs):
        original(*args, **kwargs)  # inside the write transaction: old rows already deleted
        calls.append(1)
        if len(calls) == kill_at:
            print("in transaction", flush=True)
            time.sleep(60)

    batch._delete_owned = delete_then_wait
    with duckdb.connect(warehouse) as con:  # what the evidence asset does, without Dagster
        write_registry(con)
        batch.ensure_raw_schema(con)
        loaded_at = batch.now_utc()
        for cfg in CONFIGS:
            for result in load_configured_source(
                con, cfg, root, loaded_at=loaded_at, rules=rules()
            ):
                print("loaded", result.file, flush=True)
    print("done", flush=True)
    """
)

# Holds the warehouse open for writing (as a running job does) until told to stop.
HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("create or replace table held (n integer)")
    con.execute("insert into held values (1), (2), (3)")
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
    """
)

TABLES = ("kpi_observations", "ai_costs", "adoption", "quarantine", "load_log")


def _python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _contents(path: Path) -> dict[str, list[tuple]]:
    """Every raw table without its load times (a later run loads at a later time)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            t: con.execute(f"select * exclude (loaded_at) from raw.{t} order by all").fetchall()
            for t in TABLES
        }


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """Eight small files, one with bad rows (so quarantine is compared too)."""
    root = write_sources(tmp_path_factory.mktemp("sample") / "sources")
    (root / "contact_centre" / "observations_2025-07.csv").write_text(
        CC_HEADER
        + "cc-01,aht_minutes,2025-07-01,8.5,1000\n"
        + "cc-99,aht_minutes,2025-07-01,8.5,1000\n"
        + "cc-01,aht_minutes,2025-07-02,N/A,1000\n"
    )
    return root


@pytest.mark.slow  # three loader processes (about 10 s)
def test_a_load_killed_inside_its_transaction_leaves_a_warehouse_the_next_run_completes(
    sample, tmp_path
):
    killed, clean = tmp_path / "killed.duckdb", tmp_path / "clean.duckdb"
    # The second write transaction: the contact centre's files (one set, one transaction) are
    # committed, the costs file is being written.
    loader = _python(LOADER, str(killed), str(sample), "2")
    lines = []
    for line in loader.stdout:
        lines.append(line)
        if line.startswith("in transaction"):
            break
    loader.send_signal(signal.SIGKILL)
    loader.wait(timeout=30)
    assert lines[-1].startswith("in transaction"), lines[-3:]
    assert loader.returncode == -signal.SIGKILL
    # the files the killed run committed are there, the one it was writing is not
    committed = sorted(str(p) for p in (sample / "contact_centre").glob("*.csv"))
    with duckdb.connect(str(killed), read_only=True) as con:
        logged = con.execute("select source_file from raw.load_log order by 1").fetchall()
        assert [f for (f,) in logged] == committed and len(committed) > 1
        assert con.execute("select count(*) from raw.ai_costs").fetchone() == (0,)
    # the next run completes it; a clean run on an empty warehouse gives the same tables
    for path in (killed, clean):
        run = _python(LOADER, str(path), str(sample), "0")
        out, _ = run.communicate(timeout=300)
        assert run.returncode == 0 and out.rstrip().endswith("done"), out[-500:]
    assert _contents(killed) == _contents(clean)


def test_a_second_run_waits_for_the_writer_then_refuses_clearly(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder = _python(HOLDER, str(warehouse), "60")
    assert holder.stdout.readline().strip() == "holding"
    try:
        started = time.monotonic()
        with (
            pytest.raises(WarehouseBusy) as busy,
            Warehouse(path=str(warehouse), wait_seconds=1).connect(),
        ):
            pass
        assert time.monotonic() - started >= 1
        assert str(busy.value) == (
            f"{warehouse} is in use by another process (another run, or a reader holding it "
            "open) and stayed busy for 1 s; wait for it to finish and run again"
        )
        # a whole run refuses the same way, naming the reason
        result = dg.materialize(
            [_registry_asset()],
            resources={
                "warehouse": Warehouse(path=str(warehouse), wait_seconds=1),
                "inputs": Inputs(
                    registry_path=str(REGISTRY_PATH),
                    sources_config=str(tmp_path / "none.yaml"),
                    sources_dir=str(tmp_path),
                    reports_dir=str(tmp_path),
                ),
            },
            raise_on_error=False,
        )
        assert not result.success
        [failure] = [e for e in result.all_events if e.is_step_failure]
        assert "is in use by another process" in failure.event_specific_data.error.to_string()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    # the writer's work is intact; a waiting run gets in once the writer is gone
    with Warehouse(path=str(warehouse), wait_seconds=30).connect() as con:
        assert con.execute("select sum(n) from held").fetchone() == (6,)


def test_a_waiting_run_gets_in_when_the_writer_finishes(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder = _python(HOLDER, str(warehouse), "2")
    assert holder.stdout.readline().strip() == "holding"
    started = time.monotonic()
    with Warehouse(path=str(warehouse), wait_seconds=60).connect() as con:
        waited = time.monotonic() - started
        assert con.execute("select count(*) from held").fetchone() == (3,)
        con.execute("insert into held values (4)")
    holder.wait(timeout=30)
    assert holder.returncode == 0 and waited > 0.5
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select sum(n) from held").fetchone() == (10,)


def _registry_asset():
    from assets.ingest.registry import portfolio_registry

    return portfolio_registry


def test_the_warehouse_connection_caps_duckdb_memory(tmp_path):
    # 3 GB unless VALUELEDGER_DUCKDB_MEMORY_LIMIT says otherwise; DuckDB would take 80% of RAM.
    with Warehouse(path=str(tmp_path / "default.duckdb")).connect() as con:
        (limit,) = con.execute("select current_setting('memory_limit')").fetchone()
    assert limit == "2.7 GiB"  # 3 GB in DuckDB's binary units
    capped = Warehouse(path=str(tmp_path / "w.duckdb"), memory_limit="1GB")
    with capped.connect() as con:
        (limit,) = con.execute("select current_setting('memory_limit')").fetchone()
    assert limit == "953.6 MiB"  # 1 GB in DuckDB's binary units


def test_a_bad_memory_limit_names_the_variable(tmp_path):
    capped = Warehouse(path=str(tmp_path / "w.duckdb"), memory_limit="lots")
    with (
        pytest.raises(ValueError, match=r"VALUELEDGER_DUCKDB_MEMORY_LIMIT='lots'.*like 3GB"),
        capped.connect(),
    ):
        pass
