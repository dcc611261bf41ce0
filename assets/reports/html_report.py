"""The value report: static HTML for people (an overview and a page per initiative).

Built after the evidence gates, like the portfolio summary: a failing blocking check holds it
back, so a report never shows figures from evidence that failed its gates. It reads the marts
listed in REPORT_MODELS (those present in the dbt project: marts added later are read when they
exist, and their section says "not available" until then) and writes
`<reports>/value_report/index.html` plus `initiatives/<id>.html`, swapped in atomically.
"""

from pathlib import Path

import dagster as dg

from assets.dbt_models import valueledger_dbt
from assets.quality.evidence_checks import ASSET_KEY as EVIDENCE_GATES
from assets.reports.html import REPORT_FOLDER, build_report
from orchestration.resources import Inputs, Warehouse

# Models the report reads (only dim_initiatives is required; the others fill their sections).
REPORT_MODELS = (
    "dim_initiatives",
    "dim_initiative_kpis",
    "dim_kpis",
    "fct_initiative_kpi_monthly",
    "fct_initiative_kpi_effects",
    "fct_initiative_kpi_event_study",
    "fct_initiative_returns",
    "fct_initiative_value_monthly",
    "fct_late_baseline_evidence",
    "rpt_initiative_summary",
    # Read when present: phase gates, target history, stages, blockers, the headline.
    "fct_gate_evaluations",
    "fct_initiative_recommendations",
    "fct_initiative_kpi_targets",
    "fct_target_changes",
    "fct_initiative_stages",
    "fct_initiative_blockers",
    "fct_portfolio_headline_monthly",
)
REPORT_DEPS = [k for k in valueledger_dbt.keys if k.path[-1] in REPORT_MODELS]


@dg.asset(
    deps=[*REPORT_DEPS, EVIDENCE_GATES],
    group_name="reports",
    kinds={"html"},
)
def value_report(
    context: dg.AssetExecutionContext, warehouse: Warehouse, inputs: Inputs
) -> dg.MaterializeResult:
    """The value report: headline, value against investment, pipeline, initiatives; one page
    per initiative with baseline/actual/counterfactual, event study, value waterfall, targets,
    gates and evidence. Self-contained HTML with inline SVG charts (works offline)."""
    target = Path(inputs.reports_dir) / REPORT_FOLDER
    with warehouse.connect() as con:
        result = build_report(con, target, run_id=context.run.run_id)
    for note in result.notes:
        context.log.info(f"value report: {note}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.index)),
            "version_folder": dg.MetadataValue.path(str(result.folder)),
            "pages": result.pages,
            "charts": result.charts,
            "sections_not_available": dg.MetadataValue.md(
                "\n".join(f"- {n}" for n in result.notes) or "none"
            ),
        }
    )
