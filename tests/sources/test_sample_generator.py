"""The sample generator: deterministic, complete, and true to its ground truth."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import sources.sample.generate as gen
from sources.portfolio.registry import load_registry
from sources.sample.scenario import load_scenario

REGISTRY = gen.DEFAULT_REGISTRY
CANONICAL = ["unit_id", "kpi_id", "observed_on", "value", "weight"]
CONTACT_CENTRE = {
    "centre": "unit_id",
    "metric": "kpi_id",
    "date": "observed_on",
    "contacts": "weight",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seed7") / "sources"
    gen.generate(REGISTRY, out, seed=7)
    return out


def _files(manifest: dict) -> dict[str, str]:
    return {f["path"]: f["sha256"] for f in manifest["files"]}


def _manifest(out: Path) -> dict:
    return json.loads((out / gen.MANIFEST).read_text())


def _truth(out: Path) -> dict:
    return json.loads((out.parent / "ground_truth.json").read_text())


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    return pd.read_csv(path)


def _observations(out: Path) -> pd.DataFrame:
    frames = [
        _read(p).rename(columns=CONTACT_CENTRE)
        for system in ("contact_centre", "wms", "pos", "erp")
        for p in sorted((out / system).glob("observations_*"))
    ]
    df = pd.concat(frames, ignore_index=True)
    df["observed_on"] = pd.to_datetime(df["observed_on"]).dt.date
    return df


def test_same_seed_same_bytes_other_seed_other_bytes(sample, tmp_path):
    again = gen.generate(REGISTRY, tmp_path / "again" / "sources", seed=7)
    other = gen.generate(REGISTRY, tmp_path / "other" / "sources", seed=8)
    assert _files(again) == _files(_manifest(sample))
    differing = {p for p, h in _files(other).items() if _files(again)[p] != h}
    observation_files = {p for p in _files(again) if "observations_" in p}
    assert observation_files <= differing


def test_files_columns_and_row_counts(sample):
    manifest = _manifest(sample)
    headers = {
        "contact_centre": ["centre", "metric", "date", "value", "contacts"],
        "wms": CANONICAL,
        "pos": CANONICAL,
        "erp": CANONICAL,
        "finance_ledger": ["initiative_id", "cost_month", "cost_category", "amount", "currency"],
        "ai_platform": [
            "initiative_id",
            "unit_id",
            "observed_on",
            "active_users",
            "eligible_users",
        ],
    }
    for f in manifest["files"]:
        if f["path"].startswith(".."):
            continue
        df = _read(sample / f["path"])
        assert list(df.columns) == headers[f["path"].split("/")[0]], f["path"]
        assert len(df) == f["rows"] > 0, f["path"]
    assert len(list((sample / "contact_centre").glob("*.csv"))) == 24
    assert len(list((sample / "wms").glob("*.parquet"))) == 24
    # Each KPI daily on each unit of its business unit, ~2% missing, one unit out for a week.
    expected = {"contact_centre": 8 * 3, "wms": 10 * 4, "pos": 8 * 3, "erp": 4 * 2}
    for system, series in expected.items():
        assert abs(manifest["rows"][system] - series * 730 * 0.98) < 150, system
    assert not (sample / "ground_truth.json").exists()  # the landing folder holds sources only


def test_parquet_types_and_date_range(sample):
    schema = pq.read_schema(sample / "wms" / "observations_2025-03.parquet")
    assert str(schema.field("observed_on").type) == "date32[day]"
    assert str(schema.field("weight").type) == "double"
    df = _observations(sample)
    assert df["observed_on"].min() == dt.date(2024, 11, 1)
    assert df["observed_on"].max() == dt.date(2026, 10, 31)
    assert not df.duplicated(["unit_id", "kpi_id", "observed_on"]).any()
    # Sum KPIs carry no volume; the others always do.
    no_weight = df["kpi_id"].isin(["overtime_hours", "inventory_writeoff", "customer_complaints"])
    assert df.loc[no_weight, "weight"].isna().all()
    assert (df.loc[~no_weight, "weight"] > 0).all()


def test_observations_match_the_registry(sample):
    reg = load_registry(REGISTRY)
    scenario = load_scenario()
    bu_of = {u.unit_id: u.business_unit for u in reg.units}
    kpis = {k.kpi_id: k for k in reg.kpis}
    df = _observations(sample)
    assert set(df["unit_id"]) <= set(bu_of)
    assert set(df["kpi_id"]) <= set(kpis)
    pairs = df[["unit_id", "kpi_id"]].drop_duplicates()
    assert all(bu_of[u] == scenario.kpis[k].business_unit for u, k in pairs.itertuples(False))
    for kpi_id, values in df.groupby("kpi_id")["value"]:
        assert values.between(kpis[kpi_id].min_value, kpis[kpi_id].max_value).all()
    # The scenario's outage: one unit, one week, nothing reported.
    outage = df[
        (df["unit_id"] == "wh-10")
        & df["observed_on"].between(dt.date(2025, 8, 11), dt.date(2025, 8, 17))
    ]
    assert outage.empty


def _naive_change(df: pd.DataFrame, reg, record: dict) -> float:
    """Post-ramp-up mean minus baseline mean per treated unit, averaged over units."""
    ini = next(i for i in reg.initiatives if i.initiative_id == record["initiative_id"])
    m = reg.measurement_for(ini)
    end = dt.date(2026, 10, 31)
    kpi = df[df["kpi_id"] == record["kpi_id"]]
    changes = []
    for r in ini.rollout:
        unit = kpi[kpi["unit_id"] == r.unit_id]
        day = unit["observed_on"]
        base = unit[(day >= r.go_live - dt.timedelta(days=m.baseline_days)) & (day < r.go_live)]
        post = unit[(day >= r.go_live + dt.timedelta(days=m.ramp_up_days)) & (day <= end)]
        changes.append(post["value"].mean() - base["value"].mean())
    return float(np.mean(changes))


def test_measured_effects_match_the_ground_truth(sample):
    reg = load_registry(REGISTRY)
    truth = _truth(sample)
    df = _observations(sample)
    measured = [e for e in truth["effects"] if e["n_units_measurable"] > 0]
    assert {e["effect_size"] for e in measured} == {"large", "medium", "small", "zero", "harmful"}
    for e in measured:
        estimate = _naive_change(df, reg, e) - e["naive_bias"]
        assert abs(estimate - e["true_effect"]) < 4 * e["naive_se"], e


def test_truth_records_the_shock_and_row_counts(sample):
    truth = _truth(sample)
    effects = {(e["initiative_id"], e["kpi_id"]): e for e in truth["effects"]}
    nbo = effects[("retail-next-best-offer", "conversion_rate")]
    assert nbo["shock_in_window"]
    assert nbo["naive_bias"] > 10 * nbo["naive_se"]  # the campaign would be booked as AI value
    assert not effects[("cs-agent-assist", "aht_minutes")]["shock_in_window"]
    assert effects[("cs-agent-assist", "aht_minutes")]["n_control_units"] == 2
    assert truth["rows"] == _manifest(sample)["rows"]
    assert truth["date_range"] == {"start": "2024-11-01", "end": "2026-10-31", "days": 730}


def test_adoption_and_costs(sample):
    adoption = pd.concat(_read(p) for p in sorted((sample / "ai_platform").glob("*.csv")))
    assert (adoption["active_users"] >= 0).all()
    assert (adoption["active_users"] <= adoption["eligible_users"]).all()
    assert (pd.to_datetime(adoption["observed_on"]).dt.day_of_week == 0).all()
    share = adoption.groupby("initiative_id").apply(
        lambda a: a["active_users"].tail(20).sum() / a["eligible_users"].tail(20).sum()
    )
    assert share["ops-pick-path"] > 0.6
    assert share["cs-sentiment-routing"] < 0.35

    costs = _read(sample / "finance_ledger" / "ai_costs.csv")
    assert (costs["amount"] > 0).all()
    assert (costs["amount"].round(2) == costs["amount"]).all()
    assert set(costs["currency"]) == {"EUR"}
    assert set(costs["cost_category"]) == {"build", "licence", "cloud", "people"}
    budget = {i.initiative_id: i.budget.amount for i in load_registry(REGISTRY).initiatives}
    spent = costs.groupby("initiative_id")["amount"].sum()
    assert set(spent.index) == set(budget)
    assert all(0.35 <= spent[i] / budget[i] <= 1.2 for i in budget)
    killed = costs[costs["initiative_id"] == "cs-sentiment-routing"]["cost_month"].max()
    assert killed == "2025-10-01"  # the month after the kill, then nothing


def test_rerun_with_same_arguments_skips(sample):
    before = {p: p.stat().st_mtime_ns for p in sample.rglob("*") if p.is_file()}
    again = gen.generate(REGISTRY, sample, seed=7)
    assert again["skipped"]
    assert before == {p: p.stat().st_mtime_ns for p in sample.rglob("*") if p.is_file()}


def test_force_and_changed_arguments_regenerate(tmp_path):
    out = tmp_path / "sources"
    first = gen.generate(REGISTRY, out, seed=1)
    assert not first["skipped"]
    assert not gen.generate(REGISTRY, out, seed=1, force=True)["skipped"]
    assert not gen.generate(REGISTRY, out, seed=2)["skipped"]
    assert _manifest(out)["seed"] == 2


def test_rows_knob_writes_a_scaled_registry(tmp_path, monkeypatch):
    monkeypatch.setattr(gen, "PARQUET_ABOVE_ROWS", 100_000)  # exercise the large-data format
    out = tmp_path / "sources"
    manifest = gen.generate(REGISTRY, out, seed=3, rows=150_000, initiatives=20)
    rows = manifest["rows"]["kpi_observations"]
    assert abs(rows - 150_000) <= 15_000

    scaled = load_registry(tmp_path / "portfolio_scaled.yaml")
    assert len(scaled.initiatives) == 20
    units = {u.unit_id for u in scaled.units}
    assert {"cc-01-0001", "cc-01-0002"} <= units
    assert len(units) == 4 * manifest["scale"]["units_per_bu"]
    # Initiative copies share the cloned units: no unit is rolled out twice for one original.
    rolled = [
        r.unit_id
        for i in scaled.initiatives
        if i.initiative_id.startswith("ops-pick-path")
        for r in i.rollout
    ]
    assert len(rolled) == len(set(rolled))

    observation_files = [f["path"] for f in manifest["files"] if "observations_" in f["path"]]
    assert all(p.endswith(".parquet") for p in observation_files)
    df = _observations(out)
    assert len(df) == rows
    assert set(df["unit_id"]) <= units
    truth = _truth(out)
    assert len({e["initiative_id"] for e in truth["effects"]}) == 20 - 1  # one has no KPI


def test_defects_come_from_their_own_stream_and_leave_clean_files_alone(sample, tmp_path):
    """--defects appends rows to one file and adds extra files; every other file is the same
    bytes as without defects (tests/quality checks that each defect is caught)."""
    manifest = gen.generate(REGISTRY, tmp_path / "sources", seed=7, defects=True)
    clean, dirty = _files(_manifest(sample)), _files(manifest)
    changed = {p for p in clean if p in dirty and clean[p] != dirty[p]}
    assert len(changed - {"../ground_truth.json"}) == 1  # the file receiving appended rows
    defects = _truth(tmp_path / "sources")["defects"]
    assert {d["file"] for d in defects} >= changed - {"../ground_truth.json"}
    assert set(dirty) - set(clean) == {d["file"] for d in defects} - changed
    again = gen.generate(REGISTRY, tmp_path / "again" / "sources", seed=7, defects=True)
    assert _files(again) == dirty
