"""The evidence gate as a Dagster asset: `quality/evidence_checks`, with one check per entry of
the catalogue (suites.py).

The asset runs after the evidence and the registry are loaded: it validates them with the GX
suites, writes `quality.evidence_checks` (which dbt reads for the per-initiative evidence status)
and the Data Docs, then reports each check. A failing `blocking` check fails the step, so
nothing downstream runs in that run: not the dbt build (the marts stay as last published) and
not the report. `initiative` and `warn` checks never block; their failures reach the marts
through `int_evidence_status_by_initiative`.

(dagster-ge supports GX < 1.0 only, hence this small asset around a GX validation.)
"""

from pathlib import Path

import dagster as dg

from assets.ingest.evidence import BOOKKEEPING
from assets.quality.gates import CheckOutcome, run_gates
from assets.quality.suites import CHECKS
from orchestration.resources import Inputs, Warehouse
from sources.contracts import EVIDENCE_CONTRACTS
from sources.portfolio.tables import PORTFOLIO_COLUMNS

ASSET_KEY = dg.AssetKey(["quality", "evidence_checks"])
DOCS_FOLDER = "quality"  # below the reports folder: data_docs/index.html and GX's results
MAX_ROWS_SHOWN = 20

check_specs = [
    dg.AssetCheckSpec(
        check.name,
        asset=ASSET_KEY,
        blocking=check.blocking,
        description=f"[{check.level}] {check.description}",
    )
    for check in CHECKS
]


def _result(outcome: CheckOutcome, docs: Path | None) -> dg.AssetCheckResult:
    check = outcome.check
    shown = outcome.failing[:MAX_ROWS_SHOWN]
    table = "\n".join(
        f"| {r['status']} | {r['table_name'] or ''} | {r['source_system'] or ''} | "
        f"{r['initiative_id'] or ''} | {r['kpi_id'] or ''} | {r['unit_id'] or ''} | "
        f"{r['message'].replace('|', '/')} |"
        for r in shown
    )
    failing_md = (
        "| status | table | source | initiative | kpi | unit | detail |\n"
        "|---|---|---|---|---|---|---|\n" + table
        if shown
        else "none"
    )
    if len(outcome.failing) > len(shown):
        failing_md += f"\n\n... and {len(outcome.failing) - len(shown)} more in {ASSET_KEY}"
    metadata = {
        "level": check.level,
        "status": outcome.status,
        "entities_checked": outcome.entities,
        "entities_failing": len(outcome.failing),
        "expectations": f"{outcome.successful} of {outcome.evaluated} passed",
        "threshold": outcome.threshold,
        "failing": dg.MetadataValue.md(failing_md),
    }
    if docs is not None:
        metadata["data_docs"] = dg.MetadataValue.path(str(docs))
    severity = dg.AssetCheckSeverity.WARN if check.level == "warn" else dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckResult(
        check_name=check.name,
        passed=outcome.passed,
        severity=severity,
        description=outcome.message,
        metadata=metadata,
    )


@dg.asset(
    key=ASSET_KEY,
    group_name="quality",
    kinds={"duckdb", "great_expectations"},
    deps=[
        *(dg.AssetKey(["evidence", t]) for t in (*EVIDENCE_CONTRACTS, *BOOKKEEPING)),
        *(dg.AssetKey(["portfolio", t.removeprefix("portfolio_")]) for t in PORTFOLIO_COLUMNS),
    ],
    check_specs=check_specs,
    description=(
        "Evidence gates: Great Expectations suites over the raw evidence, results in "
        "quality.evidence_checks. Blocking checks hold back dbt and the report."
    ),
)
def evidence_checks(context: dg.AssetExecutionContext, warehouse: Warehouse, inputs: Inputs):
    """Validate the evidence, record the results, report every check."""
    out_dir = Path(inputs.reports_dir) / DOCS_FOLDER
    with warehouse.connect() as con:
        run = run_gates(con, out_dir, run_id=context.run.run_id)
    counts = {s: sum(o.status == s for o in run.outcomes) for s in ("pass", "warn", "fail")}
    blocking = [o.check.name for o in run.failed_blocking]
    if blocking:
        context.log.error(
            "evidence gates failed, nothing downstream (dbt, report) runs: " + ", ".join(blocking)
        )
    for o in run.outcomes:
        if not o.passed:
            log = context.log.error if o.status == "fail" else context.log.warning
            log(f"{o.check.name} ({o.check.level}): {o.message}")
    yield dg.MaterializeResult(
        metadata={
            "checks_passed": counts["pass"],
            "checks_warned": counts["warn"],
            "checks_failed": counts["fail"],
            "blocking_failed": ", ".join(blocking) or "none",
            "seconds": dg.MetadataValue.json({k: round(v, 2) for k, v in run.seconds.items()}),
            "data_docs": dg.MetadataValue.path(str(run.docs_index or out_dir)),
        }
    )
    for o in run.outcomes:
        yield _result(o, run.docs_index)
