"""The one place that assembles Definitions: everything below `assets`, plus resources."""

from __future__ import annotations

import warnings

import dagster as dg

import assets
from orchestration.alerts import alert_on_run_failure
from orchestration.dbt import make_dbt_project
from orchestration.dbt_in_process import DbtCli
from orchestration.partitions import PARTITION_JOB
from orchestration.progress import progress_logger
from orchestration.resources import Inputs, Warehouse
from orchestration.schedules import daily_refresh, monthly_finance_close, new_landed_files
from orchestration.settings import apply_to_environ, get_settings

# Loading a whole package is marked preview; it is the documented way to keep this file closed
# to edits when assets are added, and we pin dagster exactly.
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

settings = get_settings()
apply_to_environ(settings)
OBSERVATIONS_KEY = dg.AssetKey(["evidence", "kpi_observations"])

# Every asset; a run covers all observation months (a partition range, see partitions.py).
# Both jobs are partitioned like the observations they select (Dagster infers it).
valueledger_job = dg.define_asset_job(
    "valueledger",
    selection=dg.AssetSelection.all(),
    description="Registry and evidence in, value marts and reports out.",
)
# Late or corrected months: reload their files, then everything that depends on observations
# (gates, dbt incrementally for those months, reports).
observations_by_month_job = dg.define_asset_job(
    PARTITION_JOB,
    selection=dg.AssetSelection.assets(OBSERVATIONS_KEY).downstream(),
    description="Re-process some months of KPI observations and everything that depends on them.",
)

defs = dg.Definitions.merge(
    dg.load_definitions_from_package_module(assets),
    dg.Definitions(
        jobs=[valueledger_job, observations_by_month_job],
        schedules=[daily_refresh, monthly_finance_close],
        sensors=[new_landed_files, alert_on_run_failure],
        resources={
            "warehouse": Warehouse(path=str(settings.warehouse_path)),
            "inputs": Inputs(
                registry_path=str(settings.registry_path),
                sources_config=str(settings.sources_config),
                sources_dir=str(settings.sources_dir),
                reports_dir=str(settings.reports_dir),
                cache_dir=str(settings.cache_dir),
            ),
            "dbt": DbtCli(project_dir=make_dbt_project()),
        },
        loggers={"console": dg.colored_console_logger, "progress": progress_logger},
        # One process: DuckDB has one writer anyway, and it saves ~15 s of process start-up.
        executor=dg.in_process_executor,
    ),
)
