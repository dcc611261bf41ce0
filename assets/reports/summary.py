"""Portfolio summary: the figures the run command prints, also written as CSV."""

from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from assets.dbt_models import valueledger_dbt
from assets.quality.evidence_checks import ASSET_KEY as EVIDENCE_GATES
from orchestration.resources import Inputs, Warehouse

SUMMARY_MODEL = "rpt_initiative_summary"
SUMMARY_FILE = "portfolio_summary.csv"


@dg.asset(
    # Published only after the evidence gates: a failing blocking check holds it back (also
    # when the report is materialised without the dbt build).
    deps=[get_asset_key_for_model([valueledger_dbt], SUMMARY_MODEL), EVIDENCE_GATES],
    group_name="reports",
    kinds={"csv"},
)
def portfolio_summary(
    context: dg.AssetExecutionContext, warehouse: Warehouse, inputs: Inputs
) -> dg.MaterializeResult:
    """One row per initiative and KPI: stage, baseline, current, change, value to date, ROI."""
    out = Path(inputs.reports_dir) / SUMMARY_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    with warehouse.connect() as con:
        frame = con.execute(
            f"select * from reports.{SUMMARY_MODEL} order by initiative_id, kpi_id"
        ).df()
    tmp = out.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(out)  # readers never see half a file
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(out)),
            "rows": len(frame),
            "preview": dg.MetadataValue.md(frame.head(20).to_markdown(index=False)),
        }
    )
