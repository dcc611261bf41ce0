"""The dbt project as assets: one `dbt build`, so dbt tests become asset checks."""

import dagster as dg
from dagster_dbt import dbt_assets

from orchestration.dbt import DbtCli, ensure_manifest, make_dbt_project

dbt_project = make_dbt_project()
# `dagster dev` and `dagster definitions validate` on a fresh clone need a manifest.
ensure_manifest(dbt_project)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project)
def valueledger_dbt(context: dg.AssetExecutionContext, dbt: DbtCli):
    # One fixed target folder, shared with the parse step: partial parsing is reused and
    # target/ does not grow a folder per run.
    yield from dbt.cli(["build"], context=context, target_path=dbt_project.target_path).stream()
