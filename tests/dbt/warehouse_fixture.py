"""A small, deterministic DuckDB warehouse for developing and testing the dbt project.

It creates the raw schema exactly as the loaders do (the DDL in sources/contracts.py and the
portfolio tables of sources/portfolio/tables.py) and fills it with synthetic evidence whose
effects are known, so tests can assert numbers rather than shapes:

- every KPI in KPI_SPECS is observed daily for each of its units from DATA_START to DATA_END;
- a unit treated by an initiative that measures the KPI moves by `effect` (relative to its base)
  from go-live + ramp_up_days on, and by half of it during the ramp-up;
- `aht_minutes` carries no noise, so its monthly numbers are exact (see EXPECTED below).

Run it by hand to get a warehouse to develop against:

    .venv/bin/python -m tests.dbt.warehouse_fixture /tmp/x.duckdb
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from sources.contracts import EVIDENCE_CONTRACTS, LOAD_LOG_DDL, QUARANTINE_DDL, RAW_SCHEMA
from sources.portfolio.registry import Registry, load_registry
from sources.portfolio.tables import PORTFOLIO_COLUMNS, portfolio_tables

REPO = Path(__file__).resolve().parents[2]
REGISTRY_PATH = REPO / "sources" / "portfolio" / "portfolio.yaml"

DATA_START = dt.date(2024, 11, 1)
DATA_END = dt.date(2026, 1, 31)
LOADED_AT = dt.datetime(2026, 2, 1, 6, 0, 0)


@dataclass(frozen=True)
class KpiSpec:
    units: tuple[str, ...]
    source_system: str
    base: float  # value of the first unit; unit k (1-based) gets base + (k - 1) * step
    step: float = 0.0
    weight: float | None = None  # None: the KPI carries no weight (volume = observations)
    effect: float = 0.0  # relative change once a treated unit is past its ramp-up
    noise: float = 0.0  # +noise on even days, -noise on odd days
    weekend: tuple[float, float] | None = None  # (value factor, weight factor) on Sat/Sun
    starts_on: dict[str, dt.date] = field(default_factory=dict)  # late-starting units


def _units(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}-{k:02d}" for k in range(1, n + 1))


FIN_UNITS = ("fin-ap-north", "fin-ap-south", "fin-ap-central", "fin-ap-west")

KPI_SPECS: dict[str, KpiSpec] = {
    "aht_minutes": KpiSpec(_units("cc", 8), "crm", base=9.0, step=1.0, weight=100.0, effect=-0.12),
    "cost_per_contact": KpiSpec(
        _units("cc", 8), "crm", base=5.0, weight=100.0, effect=-0.10, noise=0.2
    ),
    "first_contact_resolution": KpiSpec(
        _units("cc", 8), "crm", base=0.70, weight=100.0, effect=0.05, weekend=(0.5 / 0.7, 0.2)
    ),
    "pick_time_seconds": KpiSpec(
        _units("wh", 10), "wms", base=60.0, step=2.0, weight=1000.0, effect=-0.10, noise=1.0
    ),
    "picking_error_rate": KpiSpec(_units("wh", 10), "wms", base=0.02, weight=1000.0, effect=-0.15),
    "overtime_hours": KpiSpec(_units("wh", 10), "wms", base=40.0, effect=-0.20, noise=2.0),
    "invoice_cycle_days": KpiSpec(FIN_UNITS, "erp", base=20.0, weight=50.0, effect=-0.25),
    # fin-ap-north starts late: 23 baseline days, fewer than min_observations (30).
    "invoice_exception_rate": KpiSpec(
        FIN_UNITS,
        "erp",
        base=0.08,
        weight=50.0,
        effect=-0.10,
        starts_on={"fin-ap-north": dt.date(2025, 3, 15)},
    ),
}

# Monthly AI costs per initiative: (first month, {category: amount}); all run to DATA_END.
COSTS: dict[str, tuple[dt.date, dict[str, float]]] = {
    "cs-agent-assist": (dt.date(2024, 10, 1), {"licence": 6000.0, "engineering": 4000.0}),
    "cs-chatbot-triage": (dt.date(2025, 1, 1), {"licence": 5000.0}),
    "ops-pick-path": (dt.date(2024, 9, 1), {"engineering": 12000.0}),
    "fin-invoice-capture": (dt.date(2024, 11, 1), {"licence": 3000.0, "cloud": 500.0}),
}

# Numbers the tests assert (aht_minutes has no noise, so these are exact up to rounding).
EXPECTED = {
    # cs-agent-assist, June 2025: cc-01 (base 9) and cc-02 (base 10) are past ramp-up.
    ("cs-agent-assist", "aht_minutes", dt.date(2025, 6, 1)): {
        "n_live_units": 2,
        "baseline_value": 9.5,
        "actual_value": 9.5 * 0.88,
        "change_relative": -0.12,
        "attainment": 1.0,
        "volume": 2 * 30 * 100.0,
        "value_amount": 0.12 * (9.0 + 10.0) * 30 * 100.0 * 0.85,
    },
}


def _months(first: dt.date, last: dt.date):
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        yield dt.date(y, m, 1)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _treatments(reg: Registry) -> dict[tuple[str, str], tuple[dt.date, int]]:
    """(kpi_id, unit_id) -> (go-live, ramp-up days) of the first initiative treating it."""
    out: dict[tuple[str, str], tuple[dt.date, int]] = {}
    for ini in reg.initiatives:
        ramp = reg.measurement_for(ini).ramp_up_days
        for k in ini.kpis:
            for r in ini.rollout:
                out.setdefault((k.kpi_id, r.unit_id), (r.go_live, ramp))
    return out


def observation_rows(reg: Registry) -> list[tuple]:
    treated = _treatments(reg)
    rows: list[tuple] = []
    n_days = (DATA_END - DATA_START).days + 1
    for kpi_id, spec in KPI_SPECS.items():
        for k, unit_id in enumerate(spec.units):
            base = spec.base + k * spec.step
            starts_on = spec.starts_on.get(unit_id, DATA_START)
            go_live, ramp = treated.get((kpi_id, unit_id), (None, 0))
            for i in range(n_days):
                day = DATA_START + dt.timedelta(days=i)
                if day < starts_on:
                    continue
                effect = 0.0
                if go_live is not None and day >= go_live:
                    past_ramp = (day - go_live).days >= ramp
                    effect = spec.effect if past_ramp else spec.effect / 2
                value = base * (1 + effect)
                weight = spec.weight
                if spec.weekend and day.weekday() >= 5:
                    value *= spec.weekend[0]
                    weight = weight * spec.weekend[1] if weight is not None else None
                value += spec.noise if i % 2 == 0 else -spec.noise
                rows.append((spec.source_system, unit_id, kpi_id, day, value, weight))
    return rows


def cost_rows() -> list[tuple]:
    rows = []
    for initiative_id, (first, categories) in COSTS.items():
        for month in _months(first, DATA_END):
            for category, amount in categories.items():
                rows.append(("finance-gl", initiative_id, month, category, amount, "EUR"))
    return rows


def adoption_rows(reg: Registry) -> list[tuple]:
    rows = []
    for ini in reg.initiatives:
        for r in ini.rollout:
            day = r.go_live
            while day <= DATA_END:
                rows.append(("usage-api", ini.initiative_id, r.unit_id, day, 80, 100))
                day += dt.timedelta(days=7)
    return rows


_LINEAGE = ("source_file", "source_row", "loaded_at")  # added by the loader, see insert_rows


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[str],
    rows: list[tuple],
    source_file: str | None = None,
) -> None:
    if not rows:
        return
    if source_file is not None:  # add the loader's lineage columns
        columns = [*columns, *_LINEAGE]
        rows = [(*r, source_file, n, LOADED_AT) for n, r in enumerate(rows, start=1)]
    frame = pa.table({name: [r[i] for r in rows] for i, name in enumerate(columns)})
    con.register("_frame", frame)  # executemany is slow in DuckDB: insert from Arrow
    try:
        con.execute(
            f"insert into {RAW_SCHEMA}.{table} ({', '.join(columns)}) "
            f"select {', '.join(columns)} from _frame"
        )
    finally:
        con.unregister("_frame")


def create_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the empty raw schema as the loaders do: evidence tables and portfolio tables."""
    con.execute(f"drop schema if exists {RAW_SCHEMA} cascade")
    con.execute(f"create schema {RAW_SCHEMA}")
    for contract in EVIDENCE_CONTRACTS.values():
        con.execute(contract.ddl())
    con.execute(QUARANTINE_DDL)
    con.execute(LOAD_LOG_DDL)
    for table, columns in PORTFOLIO_COLUMNS.items():
        cols = ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
        con.execute(f"create table {RAW_SCHEMA}.{table} ({cols})")


def build_warehouse(path: Path | str, registry_path: Path | str = REGISTRY_PATH) -> Path:
    """Create (or replace) the raw schema of a DuckDB warehouse at `path`; return the path."""
    path = Path(path)
    reg = load_registry(registry_path)
    con = duckdb.connect(str(path))
    try:
        create_raw_schema(con)
        for table, rows in portfolio_tables(reg).items():
            names = list(PORTFOLIO_COLUMNS[table])
            insert_rows(con, table, names, [tuple(r[c] for c in names) for r in rows])

        evidence = {
            "kpi_observations": observation_rows(reg),
            "ai_costs": cost_rows(),
            "adoption": adoption_rows(reg),
        }
        for table, rows in evidence.items():
            names = [c.name for c in EVIDENCE_CONTRACTS[table].columns if c.name not in _LINEAGE]
            insert_rows(con, table, names, rows, source_file=f"fixture/{table}.csv")

        quarantined = [
            (
                "crm",
                "kpi_observations",
                "fixture/kpi_observations.csv",
                7,
                "value is not a number",
                "crm,cc-01,aht_minutes,2025-01-02,n/a,100",
                LOADED_AT,
            ),
        ]
        insert_rows(
            con,
            "quarantine",
            [
                "source_system",
                "target_table",
                "source_file",
                "source_row",
                "reason",
                "raw_text",
                "loaded_at",
            ],
            quarantined,
        )
        load_log = [
            (
                table,
                "fixture",
                f"fixture/{table}.csv",
                "0" * 64,
                len(rows) + (1 if table == "kpi_observations" else 0),
                len(rows),
                1 if table == "kpi_observations" else 0,
                LOADED_AT,
            )
            for table, rows in evidence.items()
        ]
        insert_rows(
            con,
            "load_log",
            [
                "target_table",
                "source_system",
                "source_file",
                "file_sha256",
                "rows_read",
                "rows_loaded",
                "rows_quarantined",
                "loaded_at",
            ],
            load_log,
        )
    finally:
        con.close()
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/valueledger-dev.duckdb")
    print(build_warehouse(target))
