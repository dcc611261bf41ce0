"""Many independent portfolios ("worlds") in one DuckDB warehouse, so one dbt run serves them all.

Every id of a world (initiatives, units, KPIs) carries the world's suffix, so worlds never share
a control unit or a KPI population: an estimate in one world sees nothing of the others. Two
kinds of world:

- sample worlds: the sample portfolio with the generator's model for one seed
  (`sources.sample.generate.observations_in_memory`), with its ground truth;
- panels: small hand-made portfolios (one initiative, one KPI) whose expected estimates are
  computed independently in pandas (`hand_estimate`).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from sources.contracts import RAW_SCHEMA
from sources.portfolio.registry import Registry, parse_registry
from sources.portfolio.tables import PORTFOLIO_COLUMNS, portfolio_tables
from sources.sample.generate import observations_in_memory
from sources.sample.scenario import Scenario
from tests.dbt.warehouse_fixture import REGISTRY_PATH, create_raw_schema

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "dbt_project"
LOADED_AT = dt.datetime(2026, 11, 30, 6, 0, 0)
SETTINGS = {
    "portfolio_name": "worlds",
    "currency": "EUR",
    "data_starts_on": dt.date(2024, 1, 1),
    "discount_rate": 0.08,
}
ID_COLUMNS = ("initiative_id", "unit_id", "kpi_id")


@dataclass
class World:
    suffix: str
    portfolio: dict[str, list[dict]]
    # source_system, unit_id, kpi_id, observed_on, value, weight (and loaded_at if not LOADED_AT)
    observations: pd.DataFrame
    truth: list[dict] = field(default_factory=list)


def _suffix_rows(tables: dict[str, list[dict]], suffix: str) -> dict[str, list[dict]]:
    out = {}
    for name, rows in tables.items():
        if name == "portfolio_settings":
            continue
        out[name] = [
            {k: (f"{v}{suffix}" if k in ID_COLUMNS and v is not None else v) for k, v in r.items()}
            for r in rows
        ]
    return out


def sample_world(registry: Registry, scenario: Scenario, seed: int, suffix: str) -> World:
    table, truth = observations_in_memory(registry, scenario, seed)
    for column in ("unit_id", "kpi_id"):
        i = table.schema.get_field_index(column)
        table = table.set_column(
            i, column, pc.binary_join_element_wise(table[column], pa.scalar(suffix), "")
        )
    return World(suffix, _suffix_rows(portfolio_tables(registry), suffix), table.to_pandas(), truth)


def sample_registry(rollout_extra: dict[str, list[dict]] | None = None) -> Registry:
    """The sample registry, with extra rollout entries per initiative (to treat every unit)."""
    raw = yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    for ini in raw["initiatives"]:
        ini.setdefault("rollout", []).extend((rollout_extra or {}).get(ini["initiative_id"], []))
    return parse_registry(yaml.safe_dump(raw), "worlds")


# --- hand-made panels -----------------------------------------------------------------------


def initiative_row(initiative_id: str, **measurement) -> dict:
    row = {
        "initiative_id": initiative_id,
        "initiative_name": initiative_id,
        "business_unit": "test",
        "owner": "test",
        "priority": "high",
        "strategic_theme": "test",
        "current_stage": "production",
        "current_stage_entered_on": dt.date(2024, 1, 1),
        "budget_amount": 1.0,
        "currency": "EUR",
        "baseline_days": 90,
        "ramp_up_days": 28,
        "min_observations": 30,
        "baseline_grace_days": 7,
    }
    row.update(measurement)
    return row


def panel_world(
    suffix: str,
    observations: pd.DataFrame,
    go_lives: dict[str, dt.date],
    *,
    aggregation: str = "mean",
    direction: str = "increase",
    **measurement,
) -> World:
    """One initiative `did` measuring one KPI `k` on the units of `observations` (unsuffixed)."""
    units = sorted(observations["unit_id"].unique())
    portfolio = {
        "portfolio_initiatives": [initiative_row("did", **measurement)],
        "portfolio_stages": [
            {
                "initiative_id": "did",
                "stage": "production",
                "stage_order": 4,
                "entered_on": dt.date(2024, 1, 1),
            }
        ],
        "portfolio_initiative_kpis": [
            {
                "initiative_id": "did",
                "kpi_id": "k",
                "direction": direction,
                "target_type": "absolute",
                "target_change": 1.0 if direction == "increase" else -1.0,
                "value_per_unit": 1.0,
                "value_driver": "cost",
                "is_cash": True,
            }
        ],
        "portfolio_rollout": [
            {"initiative_id": "did", "unit_id": u, "go_live_on": d} for u, d in go_lives.items()
        ],
        "portfolio_units": [
            {"unit_id": u, "unit_name": u, "business_unit": "test", "region": "x", "unit_size": 1}
            for u in units
        ],
        "portfolio_kpis": [
            {
                "kpi_id": "k",
                "kpi_name": "k",
                "unit_of_measure": "x",
                "aggregation": aggregation,
                "higher_is_better": direction == "increase",
                "min_value": None,
                "max_value": None,
            }
        ],
        "portfolio_blockers": [],
    }
    obs = observations.copy()
    obs["kpi_id"] = "k"
    if "source_system" not in obs:
        obs["source_system"] = "panel"
    if "weight" not in obs:
        obs["weight"] = np.nan
    for column in ("unit_id", "kpi_id"):
        obs[column] = obs[column] + suffix
    return World(suffix, _suffix_rows(portfolio, suffix), obs)


def hand_estimate(
    obs: pd.DataFrame,
    go_lives: dict[str, dt.date],
    *,
    baseline_days: int,
    ramp_up_days: int,
    min_observations: int,
    aggregation: str = "mean",
) -> dict:
    """The attributed change as docs/method.md defines it, computed directly in pandas.

    Cohorts are go-live dates; per cohort and calendar month from the first whole month after
    the ramp-up: mean over treated units of (month mean - frozen baseline) minus the same over
    controls (units not live by the month's end), cells with at least 2 treated and 2 control
    units, weighted by treated observations. Also the CR2 unit-clustered standard error.
    """
    obs = obs.copy()
    obs["w"] = obs["weight"].fillna(1.0) if aggregation == "ratio" else 1.0
    obs["wy"] = obs["w"] * obs["value"]
    obs["month"] = pd.to_datetime(obs["observed_on"]).dt.to_period("M")
    monthly = obs.groupby(["unit_id", "month"]).agg(
        wy=("wy", "sum"), w=("w", "sum"), n=("value", "size")
    )
    monthly["mean"] = monthly["wy"] / monthly["w"]
    units = sorted(obs["unit_id"].unique())
    cells, rows = [], []
    for g in sorted(set(go_lives.values())):
        start, end = g - dt.timedelta(days=baseline_days), g - dt.timedelta(days=1)
        window = obs[(obs["observed_on"] >= start) & (obs["observed_on"] <= end)]
        base = window.groupby("unit_id").agg(wy=("wy", "sum"), w=("w", "sum"), n=("value", "size"))
        base = base[base["n"] >= min_observations]
        base_mean = base["wy"] / base["w"]
        post_start = g + dt.timedelta(days=ramp_up_days)
        first_post = pd.Period(post_start - dt.timedelta(days=1), "M") + 1
        treated = [u for u, d in go_lives.items() if d == g and u in base_mean.index]
        candidates = [
            u
            for u in units
            if u in base_mean.index and (go_lives.get(u) is None or go_lives[u] > g)
        ]
        for month in sorted(
            m for m in monthly.index.get_level_values("month").unique() if m >= first_post
        ):
            next_month = (month + 1).to_timestamp().date()
            controls = [
                u for u in candidates if go_lives.get(u) is None or go_lives[u] >= next_month
            ]
            t_units = [u for u in treated if (u, month) in monthly.index]
            c_units = [u for u in controls if (u, month) in monthly.index]
            if not t_units:
                continue
            identified = len(t_units) >= 2 and len(c_units) >= 2
            cell = {
                "go_live": g,
                "month": month,
                "identified": identified,
                "n_control": len(c_units),
            }
            if identified:
                d_t = {u: monthly.loc[(u, month), "mean"] - base_mean[u] for u in t_units}
                d_c = {u: monthly.loc[(u, month), "mean"] - base_mean[u] for u in c_units}
                cell["effect"] = np.mean(list(d_t.values())) - np.mean(list(d_c.values()))
                cell["weight"] = sum(monthly.loc[(u, month), "n"] for u in t_units)
                for sign, d in ((1, d_t), (-1, d_c)):
                    n, mean = len(d), np.mean(list(d.values()))
                    for u, v in d.items():
                        rows.append((len(cells), u, sign * (v - mean) * np.sqrt(n / (n - 1)) / n))
            cells.append(cell)
    frame = pd.DataFrame(cells)
    used = frame[frame["identified"]]
    weights = used["weight"] / used["weight"].sum()
    influence: dict[str, float] = {}
    for i, u, r in rows:
        if i in weights.index:
            influence[u] = influence.get(u, 0.0) + weights[i] * r
    return {
        "attributed_change": float((weights * used["effect"]).sum()),
        "standard_error": float(np.sqrt(sum(v * v for v in influence.values()))),
        "n_cells_used": int(len(used)),
        "n_cells_dropped_no_controls": int(
            (~frame["identified"] & (frame["n_control"] == 0)).sum()
        ),
    }


# --- the warehouse --------------------------------------------------------------------------


def write_warehouse(path: Path, worlds: list[World]) -> Path:
    con = duckdb.connect(str(path))
    try:
        create_raw_schema(con)
        tables: dict[str, list[dict]] = {name: [] for name in PORTFOLIO_COLUMNS}
        tables["portfolio_settings"] = [SETTINGS]
        for world in worlds:
            for name, rows in world.portfolio.items():
                tables[name].extend(rows)
        for name, rows in tables.items():
            if not rows:
                continue
            columns = list(PORTFOLIO_COLUMNS[name])
            frame = pd.DataFrame(rows, columns=columns)  # noqa: F841 (read by DuckDB)
            con.execute(f"insert into {RAW_SCHEMA}.{name} select * from frame")
        frames = []
        for world in worlds:
            obs = world.observations.copy()
            if "loaded_at" not in obs:
                obs["loaded_at"] = LOADED_AT
            frames.append(obs)
        obs = pd.concat(frames, ignore_index=True)
        obs["source_file"] = "worlds/" + obs["source_system"]
        obs["source_row"] = np.arange(1, len(obs) + 1)
        columns = [
            "source_system",
            "unit_id",
            "kpi_id",
            "observed_on",
            "value",
            "weight",
            "source_file",
            "source_row",
            "loaded_at",
        ]
        frame = obs[columns]  # noqa: F841 (read by DuckDB)
        con.execute(
            f"insert into {RAW_SCHEMA}.kpi_observations ({', '.join(columns)}) "
            f"select {', '.join(columns)} from frame"
        )
    finally:
        con.close()
    return path


def run_dbt(warehouse: Path, tmp: Path, select: list[str]) -> None:
    """`dbt run` of the selected models (and their parents) against the warehouse."""
    import os

    from dbt.cli.main import dbtRunner  # 2-4 s import: only when needed

    old = {
        k: os.environ.get(k) for k in ("VALUELEDGER_WAREHOUSE", "DBT_SEND_ANONYMOUS_USAGE_STATS")
    }
    os.environ["VALUELEDGER_WAREHOUSE"] = str(warehouse)
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    try:
        result = dbtRunner().invoke(
            [
                "run",
                "--project-dir",
                str(PROJECT_DIR),
                "--profiles-dir",
                str(PROJECT_DIR),
                "--target-path",
                str(tmp / "target"),
                "--log-path",
                str(tmp / "logs"),
                "--select",
                *[f"+{model}" for model in select],
            ]
        )
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if not result.success:
        raise RuntimeError(f"dbt run failed: {result.exception or result.result}")
