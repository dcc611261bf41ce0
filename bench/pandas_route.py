"""The status quo: baselines and naive changes in pandas, the way an analyst would write them.

    python bench/pandas_route.py --data /tmp/valueledger-bench/data-10M --out pandas.json

Reads every observation file of the benchmark folder into one DataFrame, joins the registry's
rollouts, and computes per initiative x KPI x treated unit the baseline mean (the window before
go-live) and the naive change (mean after ramp-up minus baseline). bench/scale.py runs it under
a memory limit: a MemoryError is a result, not a crash to hide.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import summary_main  # bench/, next to this script
import yaml

from sources.portfolio.registry import load_registry
from sources.portfolio.tables import portfolio_tables


def read_observations(data: Path) -> pd.DataFrame:
    config = yaml.safe_load((data / "sources.yaml").read_text(encoding="utf-8"))
    frames = []
    for s in config["sources"]:
        if s["table"] != "kpi_observations":
            continue
        rename = {v: k for k, v in s.get("columns", {}).items()}
        for path in sorted((data / "sources").glob(s["path"])):
            frame = pd.read_parquet(path) if s["format"] == "parquet" else pd.read_csv(path)
            frames.append(frame.rename(columns=rename))
    obs = pd.concat(frames, ignore_index=True)
    obs["observed_on"] = pd.to_datetime(obs["observed_on"])
    return obs


def kpi_mean(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Plain mean, or weight-weighted for ratio KPIs (a missing weight counts as 1)."""
    w = frame["weight"].fillna(1.0).where(frame["aggregation"] == "ratio", 1.0)
    frame = frame.assign(_wv=frame["value"] * w, _w=w)
    sums = frame.groupby(keys)[["_wv", "_w"]].sum()
    return sums["_wv"] / sums["_w"]


def run(data: Path) -> dict:
    tables = portfolio_tables(load_registry(data / "portfolio_scaled.yaml"))
    initiatives = pd.DataFrame(tables["portfolio_initiatives"])
    kpis = pd.DataFrame(tables["portfolio_kpis"])[["kpi_id", "aggregation"]]
    treated = (
        pd.DataFrame(tables["portfolio_rollout"])
        .merge(pd.DataFrame(tables["portfolio_initiative_kpis"]), on="initiative_id")
        .merge(initiatives[["initiative_id", "baseline_days", "ramp_up_days"]], on="initiative_id")
    )
    treated["go_live_on"] = pd.to_datetime(treated["go_live_on"])
    obs = read_observations(data).merge(kpis, on="kpi_id")
    rows = obs.merge(treated, on=["unit_id", "kpi_id"])
    days = (rows["observed_on"] - rows["go_live_on"]).dt.days
    keys = ["initiative_id", "kpi_id", "unit_id"]
    baseline = kpi_mean(rows[(days < 0) & (days >= -rows["baseline_days"])], keys)
    post = kpi_mean(rows[days >= rows["ramp_up_days"]], keys)
    changes = pd.DataFrame({"baseline_mean": baseline, "post_mean": post}).dropna()
    changes["change_value"] = changes["post_mean"] - changes["baseline_mean"]
    changes["change_relative"] = changes["change_value"] / changes["baseline_mean"]
    return {"observations": len(obs), "baselines": len(baseline), "naive_changes": len(changes)}


if __name__ == "__main__":
    summary_main.main(__doc__, run)
