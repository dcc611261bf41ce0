"""Evidence files (KPI observations, AI costs, adoption) into the canonical raw tables."""

import os
from collections import defaultdict
from pathlib import Path

import dagster as dg

from assets.ingest.registry import registry_file
from orchestration.resources import Inputs, Warehouse
from orchestration.settings import get_settings
from sources.connectors.batch import now_utc
from sources.connectors.rules import EvidenceRules
from sources.connectors.run import load_configured_source, source_label
from sources.contracts import EVIDENCE_CONTRACTS, RAW_SCHEMA
from sources.files import ensure_raw_schema, load_sources_config
from sources.portfolio.registry import load_registry

GROUP = "ingest"
BOOKKEEPING = ("quarantine", "load_log", "source_cursors")


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["evidence", table])


# Each source system as an external asset, so lineage runs from the source to the marts.
landing_files = [
    dg.AssetSpec(
        ["landing", cfg.source_system],
        group_name="landing",
        kinds={cfg.format if cfg.kind == "file" else cfg.kind},
        description=f"{cfg.kind} source {source_label(cfg)} ({cfg.table}).",
    )
    for cfg in load_sources_config(get_settings().sources_config)
]


def load_evidence(con, configs, root: Path, rules: EvidenceRules | None, log=None):
    """Load every configured source into the raw tables; yields a LoadResult per file or fetch.

    One `loaded_at` stamps every row of the run, so the quality checks can tell which run
    delivered a row (late data for a frozen baseline).
    """
    ensure_raw_schema(con)
    loaded_at = now_utc()
    for cfg in configs:
        if log is not None and cfg.kind == "file" and not cfg.files(root):
            log.warning(f"source '{cfg.source_system}': no files match {root / cfg.path}")
        yield from load_configured_source(
            con, cfg, root, env=os.environ, loaded_at=loaded_at, rules=rules
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            _key(t),
            group_name=GROUP,
            kinds={"duckdb"},
            description=f"Canonical evidence table {RAW_SCHEMA}.{t}.",
            # The registry's knowledge (ids, KPI ranges, dates) validates every row.
            deps=[*(s.key for s in landing_files), registry_file.key],
        )
        for t in (*EVIDENCE_CONTRACTS, *BOOKKEEPING)
    ],
    # Sources fail softly (recorded, others load); what is retried is the step itself, e.g.
    # when the warehouse stayed locked by another writer past Warehouse.wait_seconds.
    retry_policy=dg.RetryPolicy(max_retries=2, delay=15, backoff=dg.Backoff.EXPONENTIAL),
)
def evidence_files(context: dg.AssetExecutionContext, warehouse: Warehouse, inputs: Inputs):
    """Load every configured source; unchanged files are skipped, failures recorded.

    A source that fails (rejected file, database down, API throttling beyond its retries) is
    logged and recorded in quarantine; the other sources still load and earlier rows stay.
    Rows that break the registry's rules (unknown ids, impossible values or dates) are
    quarantined with the reason.
    """
    configs = load_sources_config(Path(inputs.sources_config))
    rules = EvidenceRules.from_registry(load_registry(inputs.registry_path))
    per_table = defaultdict(list)
    with warehouse.connect() as con:
        for result in load_evidence(con, configs, Path(inputs.sources_dir), rules, context.log):
            per_table[result.table].append(result)
        totals = {
            t: con.execute(f"select count(*) from {RAW_SCHEMA}.{t}").fetchone()[0]
            for t in (*EVIDENCE_CONTRACTS, *BOOKKEEPING)
        }
    for table in EVIDENCE_CONTRACTS:
        results = per_table[table]
        read = sum(r.rows_read for r in results)
        loaded = sum(r.rows_loaded for r in results)
        quarantined = sum(r.rows_quarantined for r in results)
        # The bookkeeping invariant of every load: nothing read goes missing.
        assert read == loaded + quarantined, (table, read, loaded, quarantined)
        rejected = [r.error for r in results if r.error]
        for message in rejected:
            context.log.error(message)
        for r in results:
            for note in r.notes:
                context.log.warning(note)
        yield dg.MaterializeResult(
            asset_key=_key(table),
            metadata={
                "files": len(results),
                "files_unchanged": sum(r.skipped for r in results),
                "files_rejected": len(rejected),
                "rows_read": read,
                "rows_loaded": loaded,
                "rows_quarantined": quarantined,
                "rows_in_table": totals[table],
                "rejected": dg.MetadataValue.md("\n".join(f"- {m}" for m in rejected) or "none"),
            },
        )
    for table in BOOKKEEPING:
        yield dg.MaterializeResult(asset_key=_key(table), metadata={"rows": totals[table]})
