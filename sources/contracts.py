"""Canonical evidence contracts: the raw tables every connector writes (DESIGN.md section 2).

One definition serves the loaders (DDL), the quality gates and the docs. Lineage columns
(source_system, source_file, source_row, loaded_at) say where each row came from.
"""

from __future__ import annotations

from dataclasses import dataclass

RAW_SCHEMA = "raw"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Contract:
    table: str
    columns: tuple[Column, ...]
    grain: tuple[str, ...]

    @property
    def source_columns(self) -> tuple[Column, ...]:
        """The columns a source provides; the loader adds source_system and lineage."""
        return tuple(c for c in self.columns if c.name not in LINEAGE_NAMES | {"source_system"})

    def ddl(self, schema: str = RAW_SCHEMA) -> str:
        cols = ",\n    ".join(f"{c.name} {c.sql_type}" for c in self.columns)
        return f"create table if not exists {schema}.{self.table} (\n    {cols}\n)"

    def missing_required_sql(self) -> str:
        """SQL condition: the row misses a required contract or lineage column (source_row
        aside, which the gates never required)."""
        required = [c.name for c in self.columns if c.required and c.name != "source_row"]
        return "(" + " or ".join(f"{c} is null" for c in required) + ")"


LINEAGE = (
    Column("source_file", "varchar", description="File or query the row came from."),
    Column("source_row", "bigint", description="1-based data row in the file (header excluded)."),
    Column("loaded_at", "timestamp", description="When the load ran (UTC)."),
)
LINEAGE_NAMES = {c.name for c in LINEAGE}

KPI_OBSERVATIONS = Contract(
    table="kpi_observations",
    columns=(
        Column("source_system", "varchar"),
        Column("unit_id", "varchar"),
        Column("kpi_id", "varchar"),
        Column("observed_on", "date"),
        Column("value", "double"),
        Column("weight", "double", required=False, description="Volume or denominator."),
        *LINEAGE,
    ),
    grain=("source_system", "unit_id", "kpi_id", "observed_on"),
)

AI_COSTS = Contract(
    table="ai_costs",
    columns=(
        Column("source_system", "varchar"),
        Column("initiative_id", "varchar"),
        Column("cost_month", "date", description="First day of the month."),
        Column("cost_category", "varchar"),
        Column("amount", "double"),
        Column("currency", "varchar"),
        *LINEAGE,
    ),
    grain=("source_system", "initiative_id", "cost_month", "cost_category"),
)

ADOPTION = Contract(
    table="adoption",
    columns=(
        Column("source_system", "varchar"),
        Column("initiative_id", "varchar"),
        Column("unit_id", "varchar"),
        Column("observed_on", "date"),
        Column("active_users", "bigint"),
        Column("eligible_users", "bigint"),
        *LINEAGE,
    ),
    grain=("source_system", "initiative_id", "unit_id", "observed_on"),
)

EVIDENCE_CONTRACTS = {c.table: c for c in (KPI_OBSERVATIONS, AI_COSTS, ADOPTION)}

QUARANTINE_DDL = f"""
create table if not exists {RAW_SCHEMA}.quarantine (
    source_system varchar,
    target_table varchar,
    source_file varchar,
    source_row bigint,
    reason varchar,
    raw_text varchar,
    loaded_at timestamp,
    unit_id varchar,
    kpi_id varchar,
    initiative_id varchar
)"""
# Best-effort ids of a rejected row (null when the line could not be split into columns), so
# quarantine can be traced to the initiatives it concerns. Added after the first release:
# `batch.ensure_raw_schema` adds them to older warehouses.
QUARANTINE_ID_COLUMNS = ("unit_id", "kpi_id", "initiative_id")

LOAD_LOG_DDL = f"""
create table if not exists {RAW_SCHEMA}.load_log (
    target_table varchar,
    source_system varchar,
    source_file varchar,
    file_sha256 varchar,
    rows_read bigint,
    rows_loaded bigint,
    rows_quarantined bigint,
    loaded_at timestamp,
    rules_sha256 varchar
)"""
# rules_sha256: fingerprint of the registry knowledge the load was validated with
# (sources/connectors/rules.py); a file is validated again when it changes.
