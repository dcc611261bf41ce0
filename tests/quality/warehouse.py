"""A small evidence warehouse for the gate tests: the sample registry, a few CSV files.

contact_centre reports aht_minutes for cc-01..cc-08 daily from 2025-01-01 to 2025-06-30 (one
file per month, as the sample does), the finance ledger the costs of cs-agent-assist, the AI
platform its weekly adoption on cc-01. Loaded through the real loader path with the registry's
rules, so everything in it is clean; tests then break one thing at a time.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.settings import REPO_ROOT
from sources.connectors.config import SourceConfig, load_sources_config
from sources.connectors.rules import EvidenceRules
from sources.portfolio.registry import Registry, load_registry
from sources.portfolio.tables import PORTFOLIO_COLUMNS, portfolio_tables

REGISTRY_PATH = REPO_ROOT / "sources" / "portfolio" / "portfolio.yaml"
REGISTRY = load_registry(REGISTRY_PATH)
TODAY = dt.date(2026, 11, 26)
FIRST_DAY, LAST_DAY = dt.date(2025, 1, 1), dt.date(2025, 6, 30)
UNITS = tuple(f"cc-0{n}" for n in range(1, 9))
CONFIGS: list[SourceConfig] = load_sources_config(REPO_ROOT / "sources" / "sources.yaml")
CC_HEADER = "centre,metric,date,value,contacts\n"


def rules(today: dt.date = TODAY, registry: Registry = REGISTRY) -> EvidenceRules:
    return EvidenceRules.from_registry(registry, today=today)


def config(system: str) -> SourceConfig:
    return next(c for c in CONFIGS if c.source_system == system)


def write_registry(con: duckdb.DuckDBPyConnection, registry: Registry = REGISTRY) -> None:
    """The raw.portfolio_* tables, as the registry asset writes them."""
    con.execute("create schema if not exists raw")
    tables = portfolio_tables(registry)
    for table, columns in PORTFOLIO_COLUMNS.items():
        ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
        con.execute(f"create or replace table raw.{table} ({ddl})")
        if tables[table]:
            frame = pd.DataFrame(tables[table], columns=list(columns))  # noqa: F841
            con.execute(f"insert into raw.{table} select * from frame")


def aht(unit: str, day: dt.date) -> float:
    """A plausible handling time in minutes (deterministic)."""
    return round(8.0 + UNITS.index(unit) * 0.2 + (day.toordinal() % 7) * 0.05, 3)


def write_sources(root: Path) -> Path:
    """The CSV files of the small warehouse below root (the layout sources.yaml expects)."""
    day = FIRST_DAY
    months: dict[str, list[str]] = {}
    while day <= LAST_DAY:
        for unit in UNITS:
            months.setdefault(day.strftime("%Y-%m"), []).append(
                f"{unit},aht_minutes,{day.isoformat()},{aht(unit, day)},1000\n"
            )
        day += dt.timedelta(days=1)
    for month, lines in months.items():
        path = root / "contact_centre" / f"observations_{month}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CC_HEADER + "".join(lines))
    costs = root / "finance_ledger" / "ai_costs.csv"
    costs.parent.mkdir(parents=True, exist_ok=True)
    costs.write_text(
        "initiative_id,cost_month,cost_category,amount,currency\n"
        + "".join(f"cs-agent-assist,2025-0{m}-01,licence,1000.5,EUR\n" for m in range(1, 7))
    )
    adoption = root / "ai_platform" / "adoption_2025-04.csv"
    adoption.parent.mkdir(parents=True, exist_ok=True)
    adoption.write_text(
        "initiative_id,unit_id,observed_on,active_users,eligible_users\n"
        + "".join(f"cs-agent-assist,cc-01,2025-04-{d:02d},{d},100\n" for d in (7, 14, 21, 28))
    )
    return root


def build(path: Path | str, root: Path) -> Path:
    """A warehouse at `path` with the registry and the small evidence of `root` loaded."""
    from assets.ingest.evidence import load_evidence

    with duckdb.connect(str(path)) as con:
        write_registry(con)
        results = list(load_evidence(con, CONFIGS, root, rules()))
    assert all(r.error is None and r.rows_quarantined == 0 for r in results), results
    return Path(path)
