"""The dbt project as assets: one `dbt build`, so dbt tests become asset checks."""

import json
import os
from contextlib import contextmanager

import dagster as dg
from dagster_dbt import dbt_assets

from assets.ingest.evidence import MONTHS_METADATA, OBSERVATIONS, _key
from orchestration.dbt import DbtCli, ensure_manifest, make_dbt_project
from orchestration.partitions import PARTITION_JOB

MONTHS_ENV = "VALUELEDGER_OBSERVATION_MONTHS"
# dbt threads of a partition run on DuckDB (a full build keeps the profile's 1, see
# profiles.yml). A partition run is some 270 small queries and tests, each with tens of ms of
# dbt's own Python around it; a second thread runs one node's SQL while another's Python runs:
# 38-40 s against 42.5-45 s at 50M observations, peak memory unchanged (the cap is shared).
PARTITION_RUN_THREADS = 2
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


@contextmanager
def environ(name: str, value: str | None):
    """os.environ[name] = value while dbt starts (the dbt subprocess copies the environment)."""
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
def valueledger_dbt(context: dg.AssetExecutionContext, dbt: DbtCli):
    args = ["build"]
    months = changed_months(context)
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
    yield from invocation.stream()
