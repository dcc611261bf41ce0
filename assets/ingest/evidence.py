"""Evidence files (KPI observations, AI costs, adoption) into the canonical raw tables."""

import datetime as dt
import os
from collections import defaultdict
from pathlib import Path

import dagster as dg

from assets.ingest.registry import registry_file
from orchestration.partitions import context_months, covers_all, months_json, observation_months
from orchestration.resources import Inputs, Warehouse
from orchestration.settings import get_settings
from sources.connectors.batch import now_utc
from sources.connectors.partitions import files_of_months
from sources.connectors.rules import EvidenceRules
from sources.connectors.run import load_configured_source, source_label
from sources.contracts import EVIDENCE_CONTRACTS, RAW_SCHEMA
from sources.files import ensure_raw_schema, load_sources_config
from sources.portfolio.registry import load_registry

GROUP = "ingest"
BOOKKEEPING = ("quarantine", "load_log", "source_cursors")
OBSERVATIONS = "kpi_observations"
MONTHS_METADATA = "months_changed"


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["evidence", table])


# Each source system as an external asset, so lineage runs from the source to the marts.
landing_files = [
    dg.AssetSpec(
        ["landing", cfg.source_system],
        group_name="landing",
        kinds={cfg.format if cfg.kind == "file" else cfg.kind},
        description=f"{cfg.kind} source {source_label(cfg)} ({cfg.table}).",
        metadata={"table": cfg.table},
    )
    for cfg in load_sources_config(get_settings().sources_config)
]


def load_evidence(con, configs, root: Path, rules: EvidenceRules | None, log=None, months=None):
    """Load every configured source into the raw tables; yields a LoadResult per file or fetch.

    One `loaded_at` stamps every row of the run, so the quality checks can tell which run
    delivered a row (late data for a frozen baseline). `months`: a partition run, which loads
    only the files named with those months (sources/connectors/partitions.py).
    """
    ensure_raw_schema(con)
    loaded_at = now_utc()
    for cfg in configs:
        if log is not None and cfg.kind == "file" and not cfg.files(root):
            log.warning(f"source '{cfg.source_system}': no files match {root / cfg.path}")
        yield from load_configured_source(
            con, cfg, root, env=os.environ, loaded_at=loaded_at, rules=rules, months=months
        )


def _months_of_files(con, labels: list[str]) -> set[dt.date]:
    """The months the rows of these files fall in: what a reload of them can change."""
    if not labels:
        return set()
    rows = con.execute(
        "select distinct date_trunc('month', observed_on)::date "
        f"from {RAW_SCHEMA}.kpi_observations where source_file in (select unnest(?::varchar[]))",
        [labels],
    ).fetchall()
    return {r[0] for r in rows}


def _load(context, warehouse: Warehouse, inputs: Inputs, tables, months=None):
    """Load the sources of `tables`; a MaterializeResult per table with the load's counts."""
    configs = [c for c in load_sources_config(Path(inputs.sources_config)) if c.table in tables]
    rules = EvidenceRules.from_registry(load_registry(inputs.registry_path, inputs.cache_dir))
    root = Path(inputs.sources_dir)
    per_table = defaultdict(list)
    with warehouse.connect() as con:
        ensure_raw_schema(con)
        # A month's file may hold rows of other months (a late correction): those months
        # change too, before (rows replaced) or after (rows added) the reload.
        labels = [
            str(p)
            for c in configs
            if c.kind == "file" and months is not None
            for p in files_of_months(c.files(root), months)
        ]
        touched = _months_of_files(con, labels)
        for result in load_evidence(con, configs, root, rules, context.log, months):
            per_table[result.table].append(result)
        touched |= _months_of_files(con, labels)
        owned = [t for t in (*EVIDENCE_CONTRACTS, *BOOKKEEPING) if t in tables]
        totals = {
            t: con.execute(f"select count(*) from {RAW_SCHEMA}.{t}").fetchone()[0] for t in owned
        }
    for table in EVIDENCE_CONTRACTS:
        if table not in tables:
            continue
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
        metadata = {
            "files": len(results),
            "files_unchanged": sum(r.skipped for r in results),
            "files_rejected": len(rejected),
            "rows_read": read,
            "rows_loaded": loaded,
            "rows_quarantined": quarantined,
            "rows_in_table": totals[table],
            "rejected": dg.MetadataValue.md("\n".join(f"- {m}" for m in rejected) or "none"),
        }
        if months is not None:
            # What dbt rebuilds incrementally in a partition run (assets/dbt_models.py).
            metadata[MONTHS_METADATA] = months_json(touched | set(months))
        yield dg.MaterializeResult(asset_key=_key(table), metadata=metadata)
    for table in BOOKKEEPING:
        if table in tables:
            yield dg.MaterializeResult(asset_key=_key(table), metadata={"rows": totals[table]})


# Sources fail softly (recorded, others load); what is retried is the step itself, e.g. when
# the warehouse stayed locked by another writer past Warehouse.wait_seconds.
RETRY = dg.RetryPolicy(max_retries=2, delay=15, backoff=dg.Backoff.EXPONENTIAL)
OTHER_EVIDENCE = tuple(t for t in EVIDENCE_CONTRACTS if t != OBSERVATIONS)


def _deps(tables) -> list:
    # The registry's knowledge (ids, KPI ranges, dates) validates every row.
    return [*(s.key for s in landing_files if s.metadata["table"] in tables), registry_file.key]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            _key(t),
            group_name=GROUP,
            kinds={"duckdb"},
            description=f"Canonical evidence table {RAW_SCHEMA}.{t}.",
            deps=_deps(OTHER_EVIDENCE),
        )
        for t in (*OTHER_EVIDENCE, *BOOKKEEPING)
    ],
    retry_policy=RETRY,
)
def evidence_files(context: dg.AssetExecutionContext, warehouse: Warehouse, inputs: Inputs):
    """Load every configured cost and adoption source; unchanged files are skipped, failures
    recorded. The bookkeeping tables (quarantine, load_log, cursors) are this asset's too; the
    KPI observations' loads write their lines in them as well.

    A source that fails (rejected file, database down, API throttling beyond its retries) is
    logged and recorded in quarantine; the other sources still load and earlier rows stay.
    Rows that break the registry's rules (unknown ids, impossible values or dates) are
    quarantined with the reason.
    """
    yield from _load(context, warehouse, inputs, (*OTHER_EVIDENCE, *BOOKKEEPING))


@dg.asset(
    key=_key(OBSERVATIONS),
    group_name=GROUP,
    kinds={"duckdb"},
    description=f"Canonical evidence table {RAW_SCHEMA}.{OBSERVATIONS}, partitioned by month.",
    deps=_deps((OBSERVATIONS,)),
    partitions_def=observation_months,
    # A backfill of many months is one run: DuckDB has one writer, and the load is one pass.
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=RETRY,
)
def kpi_observations(context: dg.AssetExecutionContext, warehouse: Warehouse, inputs: Inputs):
    """Load the KPI observation sources for the run's months.

    A run over every partition (the `valueledger` job) loads every file and every sql and rest
    source. A run over some months loads the files named with those months, each replacing
    the rows it owns (idempotent; rows read = loaded + quarantined per file), and records which
    months changed for the incremental dbt build.
    """
    months = None if covers_all(context) else context_months(context)
    if months is not None:
        context.log.info(f"partition run: files of {months_json(months)}")
    yield from _load(context, warehouse, inputs, (OBSERVATIONS,), months)
