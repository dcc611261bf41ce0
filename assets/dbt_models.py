"""The dbt project as assets: one `dbt build`, so dbt tests become asset checks."""

import json
import os
from contextlib import contextmanager

import dagster as dg
import duckdb
from dagster_dbt import dbt_assets

from assets.ingest.evidence import MONTHS_METADATA, OBSERVATIONS, _key
from orchestration.dbt import ensure_manifest, make_dbt_project, project_fingerprint
from orchestration.dbt_in_process import DbtCli
from orchestration.partitions import PARTITION_JOB
from orchestration.resources import Warehouse

MONTHS_ENV = "VALUELEDGER_OBSERVATION_MONTHS"
# dbt threads of a partition run on DuckDB (a full build keeps the profile's 1, see
# profiles.yml). A partition run is some 270 small queries and tests, each with tens of ms of
# dbt's own Python around it; a second thread runs one node's SQL while another's Python runs:
# 38-40 s against 42.5-45 s at 50M observations, peak memory unchanged (the cap is shared).
PARTITION_RUN_THREADS = 2
# The dbt project each full build of the DuckDB warehouse built with. A partition run updates
# tables a full build wrote; if the project changed since (a model's columns or logic), their
# rows are of the old project, so the run builds in full instead.
FULL_BUILDS_TABLE = "main.dbt_full_builds"
dbt_project = make_dbt_project()
# `dagster dev` and `dagster definitions validate` on a fresh clone need a manifest.
ensure_manifest(dbt_project)


def changed_months(context: dg.AssetExecutionContext) -> list[str] | None:
    """The months this run's observation load changed, when the run re-processes some months.

    Only the `observations_by_month` job builds incrementally: it reloads nothing but those
    months' files, so every other input of the incremental models is as the last full build
    left it. Any other run (the whole job, whatever its partitions) rebuilds in full.
    """
    if context.job_name != PARTITION_JOB:
        return None
    event = context.instance.get_latest_materialization_event(_key(OBSERVATIONS))
    if event is None or event.run_id != context.run_id:
        return None
    value = event.asset_materialization.metadata.get(MONTHS_METADATA)
    return None if value is None else json.loads(value.value)


def last_full_build(warehouse: Warehouse) -> str | None:
    """The project fingerprint of the warehouse's latest full dbt build, if any."""
    with warehouse.connect() as con:
        try:
            row = con.execute(
                f"select project_fingerprint from {FULL_BUILDS_TABLE} "
                "order by built_at desc limit 1"
            ).fetchone()
        except duckdb.CatalogException:  # built before the record was kept
            return None
    return None if row is None else row[0]


def record_full_build(warehouse: Warehouse, run_id: str, fingerprint: str) -> None:
    with warehouse.connect() as con:
        con.execute(
            f"create table if not exists {FULL_BUILDS_TABLE} "
            "(run_id varchar, built_at timestamp, project_fingerprint varchar)"
        )
        con.execute(
            f"insert into {FULL_BUILDS_TABLE} values (?, current_timestamp, ?)",
            [run_id, fingerprint],
        )


def months_to_build(
    months: list[str] | None, built_with: str | None, fingerprint: str
) -> tuple[list[str] | None, str | None]:
    """The months a partition run may build alone, or None (build in full) with the reason."""
    if months is None:
        return None, None
    if built_with is None:
        return None, "the warehouse has no full dbt build on record"
    if built_with != fingerprint:
        return None, "the dbt project or DuckDB changed since the warehouse's last full build"
    return months, None


@contextmanager
def environ(name: str, value: str | None):
    """os.environ[name] = value while dbt runs (in this process: it reads the environment as it
    starts, on its own thread)."""
    before = os.environ.pop(name, None)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)
        if before is not None:
            os.environ[name] = before


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project)
def valueledger_dbt(context: dg.AssetExecutionContext, dbt: DbtCli, warehouse: Warehouse):
    args = ["build"]
    # Only the DuckDB warehouse keeps the record; other targets trust their last full build.
    on_duckdb = dbt_project.target == "dev"
    fingerprint = project_fingerprint()
    months = changed_months(context)
    if months is not None and on_duckdb:
        months, reason = months_to_build(months, last_full_build(warehouse), fingerprint)
        if reason:
            context.log.warning(f"{reason}: building every model in full, not only the months")
    if months is not None:
        context.log.info(f"incremental build of the observation months {months}")
        # Unit tests check SQL logic, which a partition run does not change: the full runs
        # keep them.
        args += ["--exclude", "resource_type:unit_test"]
        if dbt_project.target == "dev":
            args += ["--threads", str(PARTITION_RUN_THREADS)]
    # The months go in an environment variable, not --vars: new vars re-parse the whole
    # project (macros/observation_months.sql). Unset, the models build in full.
    with environ(MONTHS_ENV, None if months is None else ",".join(months)):
        # One fixed target folder, shared with the parse step: partial parsing is reused and
        # target/ does not grow a folder per run.
        invocation = dbt.cli(args, context=context, target_path=dbt_project.target_path)
        yield from invocation.stream()  # raises when the build failed: nothing recorded then
    if months is None and on_duckdb and not context.is_subset:
        record_full_build(warehouse, context.run_id, fingerprint)
