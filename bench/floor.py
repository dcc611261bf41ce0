"""Run bench/floor.sql over a benchmark data folder and write a summary of its results.

python bench/floor.py --data /tmp/valueledger-bench/data-10M --out floor.json
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import summary_main  # bench/, next to this script
import yaml

from sources.portfolio.registry import load_registry
from sources.portfolio.tables import portfolio_tables

FLOOR_SQL = Path(__file__).with_name("floor.sql")


def observation_view(data: Path) -> str:
    """One view over every observation file, each system's columns renamed as sources.yaml maps
    them (the generator writes each system's own names)."""
    config = yaml.safe_load((data / "sources.yaml").read_text(encoding="utf-8"))
    parts = []
    for s in config["sources"]:
        if s["table"] != "kpi_observations":
            continue
        cols = s.get("columns", {})
        names = ("unit_id", "kpi_id", "observed_on", "value", "weight")
        select = ", ".join(f'"{cols.get(n, n)}" as {n}' for n in names)
        path = str(data / "sources" / s["path"]).replace("'", "''")
        reader = "read_parquet" if s["format"] == "parquet" else "read_csv"
        parts.append(f"select {select} from {reader}('{path}')")
    return "create view observations as " + " union all ".join(parts)


def run(data: Path) -> dict:
    con = duckdb.connect()
    tables = portfolio_tables(load_registry(data / "portfolio_scaled.yaml"))
    for name in ("initiatives", "initiative_kpis", "rollout", "kpis"):
        arrow = pa.Table.from_pylist(tables[f"portfolio_{name}"])  # noqa: F841 (read by name)
        con.execute(f"create table {name} as select * from arrow")
    con.execute("alter table initiatives alter baseline_days type integer")
    con.execute("alter table initiatives alter ramp_up_days type integer")
    con.execute(observation_view(data))
    con.execute(FLOOR_SQL.read_text(encoding="utf-8"))
    return {
        t: con.execute(f"select count(*) from {t}").fetchone()[0]
        for t in ("baselines", "naive_changes", "effects", "value_monthly")
    }


if __name__ == "__main__":
    summary_main.main(__doc__, run)
