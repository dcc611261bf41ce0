"""The portfolio registry (YAML in git) as raw.portfolio_* tables."""

import dagster as dg
import pandas as pd

from orchestration.resources import Inputs, Warehouse
from sources.contracts import RAW_SCHEMA
from sources.portfolio.registry import load_registry
from sources.portfolio.signoffs import load_signoffs, signoffs_path
from sources.portfolio.tables import PORTFOLIO_COLUMNS, portfolio_tables

GROUP = "ingest"


def _key(table: str) -> dg.AssetKey:
    # dbt declares these as source `portfolio`, table `<name>` (identifier portfolio_<name>).
    return dg.AssetKey(["portfolio", table.removeprefix("portfolio_")])


registry_file = dg.AssetSpec(
    ["landing", "portfolio_registry"],
    group_name="landing",
    kinds={"yaml"},
    description="The portfolio registry, YAML in git (VALUELEDGER_REGISTRY).",
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            _key(t),
            group_name=GROUP,
            kinds={"duckdb"},
            description=f"Portfolio registry table {RAW_SCHEMA}.{t}.",
            deps=[registry_file.key],
        )
        for t in PORTFOLIO_COLUMNS
    ],
)
def portfolio_registry(context: dg.AssetExecutionContext, warehouse: Warehouse, inputs: Inputs):
    """Validate the registry and replace the raw.portfolio_* tables in one transaction."""
    registry = load_registry(inputs.registry_path, inputs.cache_dir)
    signoffs = load_signoffs(signoffs_path(inputs.registry_path), registry)
    tables = portfolio_tables(registry, signoffs)
    with warehouse.connect() as con:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        con.execute("begin transaction")
        for table, columns in PORTFOLIO_COLUMNS.items():
            ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
            con.execute(f"create or replace table {RAW_SCHEMA}.{table} ({ddl})")
            rows = tables[table]
            if rows:
                frame = pd.DataFrame(rows, columns=list(columns))  # noqa: F841 (read by DuckDB)
                con.execute(f"insert into {RAW_SCHEMA}.{table} select * from frame")
        con.execute("commit")
    for table, rows in tables.items():
        yield dg.MaterializeResult(asset_key=_key(table), metadata={"rows": len(rows)})
    context.log.info(
        f"registry {inputs.registry_path}: {len(registry.initiatives)} initiatives, "
        f"{len(registry.kpis)} KPIs, {len(registry.units)} units"
    )
