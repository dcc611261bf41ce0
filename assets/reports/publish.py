"""Publishing after a successful run: exports for finance, a read-only copy for BI, PostgreSQL."""

import os
from pathlib import Path

import dagster as dg

from assets.dbt_models import valueledger_dbt
from assets.reports.html_report import value_report
from assets.reports.publishing import export_finance_marts, publish_copy, publish_to_postgres
from assets.reports.summary import portfolio_summary
from orchestration.resources import Inputs, Warehouse

PG_URL_ENV = "VALUELEDGER_PUBLISH_PG_URL"
PG_ROLE_ENV = "VALUELEDGER_PUBLISH_PG_READER_ROLE"

FINANCE_MARTS = [k for k in valueledger_dbt.keys if k.path[0] == "marts"]
PUBLISHED_MODELS = [k for k in valueledger_dbt.keys if k.path[0] in ("marts", "reports")]


def _evidence_status(con) -> dict:
    """Counts of initiatives by evidence status, when the marts carry one."""
    has_column = con.execute(
        "select count(*) from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'dim_initiatives' and column_name = 'evidence_status'"
    ).fetchone()[0]
    if not has_column:
        return {"status": "not assessed"}
    rows = con.execute(
        "select evidence_status, count(*) from marts.dim_initiatives group by 1 order by 1"
    ).fetchall()
    return dict(rows)


@dg.asset(deps=FINANCE_MARTS, group_name="publish", kinds={"csv", "parquet", "excel"})
def finance_exports(
    context: dg.AssetExecutionContext, warehouse: Warehouse, inputs: Inputs
) -> dg.MaterializeResult:
    """Every finance mart as CSV, Parquet and one Excel workbook, with a manifest."""
    exports_dir = Path(inputs.reports_dir).parent / "exports"
    with warehouse.connect() as con:
        manifest = export_finance_marts(con, exports_dir, context.run.run_id, _evidence_status(con))
    return dg.MaterializeResult(
        metadata={
            "folder": dg.MetadataValue.path(manifest["folder"]),
            "row_counts": manifest["row_counts"],
            "evidence_status": manifest["evidence_status"],
            "files": len(manifest["files"]),
        }
    )


@dg.asset(
    deps=[finance_exports, portfolio_summary, value_report, *PUBLISHED_MODELS],
    group_name="publish",
    kinds={"duckdb"},
)
def published_warehouse(warehouse: Warehouse, inputs: Inputs) -> dg.MaterializeResult:
    """A read-only copy of the finished marts and reports for BI tools, swapped in atomically.

    BI tools open `published/warehouse.duckdb` read-only: a run never blocks them, and they
    never see half a run. It holds the schemas PostgreSQL gets (`marts`, `reports`).
    """
    target = Path(inputs.reports_dir).parent / "published" / "warehouse.duckdb"
    with warehouse.connect() as con:
        counts = publish_copy(con, target)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "bytes": target.stat().st_size,
            "row_counts": counts,
        }
    )


@dg.asset(deps=PUBLISHED_MODELS, group_name="publish", kinds={"postgres"})
def postgres_marts(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """The marts and reports in PostgreSQL for finance and BI, with a select-only role.

    Set VALUELEDGER_PUBLISH_PG_URL (e.g. postgresql://publisher@db:5432/valueledger) to turn it
    on; without it this step records that nothing was published.
    """
    url = os.environ.get(PG_URL_ENV)
    if not url:
        context.log.info(f"{PG_URL_ENV} is not set: marts not published to PostgreSQL")
        return dg.MaterializeResult(metadata={"published": False})
    role = os.environ.get(PG_ROLE_ENV, "valueledger_reader")
    with warehouse.connect() as con:
        counts = publish_to_postgres(con, url, reader_role=role)
    return dg.MaterializeResult(metadata={"published": True, "reader_role": role, "tables": counts})
