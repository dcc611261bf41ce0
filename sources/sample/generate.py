"""Write deterministic sample sources: KPI observations, AI costs and adoption, plus ground truth.

    python -m sources.sample.generate --registry sources/portfolio/portfolio.yaml \
        --out data/sources --seed 7 [--rows N | --units-per-bu N] [--initiatives N] [--force]

Two years of daily evidence from `portfolio.data_starts_on`, fixed dates (never relative to today),
as the files each source system would deliver (one folder per system, monthly files). The truth
(levels, seasonality, the shock, injected effects) lives in scenario.yaml; `ground_truth.json`
(outside the landing folder) records it per initiative x KPI for the tests. The same arguments
give byte-identical files; `_manifest.json` lets a re-run with the same arguments skip.

Benchmarks scale the portfolio (`--rows`, `--units-per-bu`, `--initiatives`): the scaled registry
is written next to the landing folder, and above 1M observations all observation files are
Parquet. Work is vectorised per KPI x month, so memory follows one month, not the whole data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sources.portfolio.registry import Registry, load_registry
from sources.sample.adoption import adoption_chunk, rollouts
from sources.sample.costs import cost_table
from sources.sample.defects import DefectPlan
from sources.sample.observations import KpiSeries, build_series, chunk
from sources.sample.scaling import Scaled, scale_registry, unscaled, write_registry
from sources.sample.scenario import DEFAULT_SCENARIO, Scenario, load_scenario
from sources.sample.truth import effect_truth

# Bump when the output for the same arguments changes, so old manifests stop matching.
GENERATOR_VERSION = 1
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REGISTRY = REPO_ROOT / "sources" / "portfolio" / "portfolio.yaml"
DEFAULT_OUT = REPO_ROOT / "data" / "sources"
MANIFEST = "_manifest.json"
SCALED_REGISTRY = "portfolio_scaled.yaml"
PARQUET_ABOVE_ROWS = 1_000_000
# One random stream per purpose: adding defects (or a table) later leaves the others unchanged.
STREAMS = ("offsets", "observations", "costs", "adoption", "defects")
CSV_OPTIONS = pacsv.WriteOptions(quoting_style="none", quoting_header="none")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {
        name: np.random.Generator(np.random.PCG64(child))
        for name, child in zip(STREAMS, children, strict=True)
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _inject_defects(
    table_name: str, system: str, table: pa.Table, defects: DefectPlan | None
) -> pa.Table:
    """Extension point for `--defects`: every table passes here just before it is written.

    The plan (sources/sample/defects.py, drawing only from the `defects` stream) appends
    defective rows to one file and keeps clean rows to build its extra defective files from;
    what it injects goes to the ground truth.
    """
    if defects is None:
        return table
    return defects.inject(table_name, system, table)


# --- writing ---------------------------------------------------------------------------------


def _write(table: pa.Table, out: Path, relative: str, fmt: str) -> dict:
    path = out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        pacsv.write_csv(table, path, CSV_OPTIONS)
    else:
        pq.write_table(table, path)
    return {
        "path": relative,
        "rows": table.num_rows,
        "bytes": path.stat().st_size,
        "sha256": _sha256(path),
    }


def _for_csv(table: pa.Table) -> pa.Table:
    """Volumes are whole numbers: write 1200, not 1200.0 (empty where a KPI has none)."""
    i = table.schema.get_field_index("weight")
    return table.set_column(i, "weight", pc.cast(table["weight"], pa.int64()))


def _months(start: dt.date, days: int) -> list[tuple[str, np.ndarray]]:
    """(YYYY-MM, day indices) per calendar month of the data."""
    t = np.arange(days)
    month = (np.datetime64(start, "D") + t).astype("datetime64[M]")
    return [(str(m), t[month == m]) for m in np.unique(month)]


def _write_observations(
    series: list[KpiSeries],
    scenario: Scenario,
    out: Path,
    start: dt.date,
    rngs: dict,
    all_parquet: bool,
    defects: DefectPlan | None,
) -> list[dict]:
    files = []
    for system, spec in scenario.systems.items():
        members = [s for s in series if s.spec.system == system]
        if not members:
            continue
        fmt = "parquet" if all_parquet else spec.format
        for month, t in _months(start, scenario.days):
            table = pa.concat_tables([chunk(s, t, scenario, rngs["observations"]) for s in members])
            table = table.take(pc.sort_indices(table, [("observed_on", "ascending")]))  # stable
            table = _inject_defects("kpi_observations", system, table, defects)
            if fmt == "csv":
                table = _for_csv(table)
            table = table.rename_columns([spec.columns.get(c, c) for c in table.column_names])
            files.append(_write(table, out, f"{system}/observations_{month}.{fmt}", fmt))
    return files


def _write_costs(
    scaled: Scaled,
    scenario: Scenario,
    out: Path,
    end: dt.date,
    rngs: dict,
    defects: DefectPlan | None,
) -> list[dict]:
    table = cost_table(scaled, scenario.costs, end, rngs["costs"])
    table = _inject_defects("ai_costs", "finance_ledger", table, defects)
    return [_write(table, out, "finance_ledger/ai_costs.csv", "csv")]


def _write_adoption(
    scaled: Scaled,
    scenario: Scenario,
    out: Path,
    start: dt.date,
    rngs: dict,
    defects: DefectPlan | None,
) -> list[dict]:
    ro = rollouts(scaled, scenario.adoption, scenario.days)
    files = []
    for month, t in _months(start, scenario.days):
        epoch_days = (np.datetime64(start, "D") + t).astype(np.int64)
        mondays = t[epoch_days % 7 == 4]  # 1970-01-05, day 4 of the epoch, was a Monday
        table = adoption_chunk(ro, mondays, start, rngs["adoption"])
        if table.num_rows == 0:
            continue
        table = _inject_defects("adoption", "ai_platform", table, defects)
        files.append(_write(table, out, f"ai_platform/adoption_{month}.csv", "csv"))
    return files


# --- in memory -------------------------------------------------------------------------------


def observations_in_memory(
    registry: Registry, scenario: Scenario, seed: int
) -> tuple[pa.Table, list[dict]]:
    """Every KPI observation of the (unscaled) portfolio as one table, and the effect truth.

    The same model and random streams as `generate`, without files or a manifest, for tests
    that need many seeds. The draws run per KPI over all days at once, so the values differ
    from the files `generate` writes for the same seed (not their distribution). Columns:
    source_system plus the canonical unit_id, kpi_id, observed_on, value, weight.
    """
    scaled = unscaled(registry)
    rngs = _streams(seed)
    series = build_series(scaled, scenario, rngs["offsets"])
    t = np.arange(scenario.days)
    tables = []
    for s in series:
        table = chunk(s, t, scenario, rngs["observations"])
        system = pa.array([s.spec.system] * table.num_rows, pa.string())
        tables.append(table.add_column(0, "source_system", system))
    return pa.concat_tables(tables), effect_truth(scaled, scenario, series)


# --- sizing ----------------------------------------------------------------------------------


def units_for_rows(reg: Registry, scenario: Scenario, rows: int) -> int:
    """Units per business unit that give about `rows` KPI observations."""
    bus = {u.business_unit for u in reg.units}
    known = {k.kpi_id for k in reg.kpis}
    kpis = sum(1 for k, s in scenario.kpis.items() if k in known and s.business_unit in bus)
    per_unit = scenario.days * (1 - scenario.missing.probability) * max(kpis, 1)
    return max(1, round(rows / per_unit))


def expected_rows(series: list[KpiSeries], scenario: Scenario) -> int:
    units = sum(len(s.unit_ids) for s in series)
    return round(units * scenario.days * (1 - scenario.missing.probability))


# --- manifest --------------------------------------------------------------------------------


def _relative(path: Path, out: Path) -> str:
    return Path(os.path.relpath(path.resolve(), out.resolve())).as_posix()


def _is_current(out: Path, arguments: dict) -> dict | None:
    """The manifest, if it was written for these arguments and its files are all still there."""
    path = out / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if any(manifest.get(k) != v for k, v in arguments.items()):
        return None
    for f in manifest.get("files", []):
        target = out / f["path"]
        if not target.is_file() or target.stat().st_size != f["bytes"]:
            return None
    return manifest


def _remove_previous(out: Path) -> None:
    """Delete what an earlier run wrote (per its manifest), so no stale month or format stays."""
    path = out / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for f in manifest.get("files", []):
        (out / f["path"]).unlink(missing_ok=True)
    path.unlink(missing_ok=True)


def _rows_by_table(files: list[dict]) -> dict[str, int]:
    rows: dict[str, int] = {}
    for f in files:
        folder = f["path"].split("/")[0]
        if folder != "..":
            rows[folder] = rows.get(folder, 0) + f["rows"]
    return rows


# --- main ------------------------------------------------------------------------------------


def _truth(
    seed: int,
    scaled: Scaled,
    scenario: Scenario,
    series: list[KpiSeries],
    rows: dict[str, int],
    registry_name: str,
) -> dict:
    start = scaled.registry.portfolio.data_starts_on
    shock = scenario.shock
    return {
        "seed": seed,
        "generator_version": GENERATOR_VERSION,
        "registry": registry_name,
        "date_range": {
            "start": start.isoformat(),
            "end": (start + dt.timedelta(days=scenario.days - 1)).isoformat(),
            "days": scenario.days,
        },
        "rows": rows,
        "ramp_days": scenario.ramp_days,
        "missing_probability": scenario.missing.probability,
        "outage": scenario.missing.outage.model_dump(mode="json")
        if scenario.missing.outage
        else None,
        "shock": shock.model_dump(mode="json") if shock else None,
        # shock_in_window: the shock moves this KPI and starts within some treated unit's
        # baseline-to-end span.
        "effects": effect_truth(scaled, scenario, series),
    }


def generate(
    registry_path: Path | str = DEFAULT_REGISTRY,
    out_dir: Path | str = DEFAULT_OUT,
    *,
    seed: int = 7,
    truth_path: Path | str | None = None,
    rows: int | None = None,
    units_per_bu: int | None = None,
    initiatives: int | None = None,
    scenario_path: Path | str = DEFAULT_SCENARIO,
    defects: bool = False,
    force: bool = False,
) -> dict:
    """Write the sample sources into out_dir and return the manifest.

    Returns early (manifest["skipped"] is True) when out_dir already holds the output of the same
    arguments; force regenerates. rows and units_per_bu are alternatives: rows picks the units
    per business unit that give about that many KPI observations.
    """
    if rows is not None and units_per_bu is not None:
        raise ValueError("give rows or units_per_bu, not both")
    for name, value in (
        ("rows", rows),
        ("units_per_bu", units_per_bu),
        ("initiatives", initiatives),
    ):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")

    registry_path, scenario_path, out = Path(registry_path), Path(scenario_path), Path(out_dir)
    # Next to the landing folder, so that folder holds only source files (and the manifest).
    truth = Path(truth_path) if truth_path else out.resolve().parent / "ground_truth.json"
    scenario = load_scenario(scenario_path)
    base = load_registry(registry_path)
    if rows is not None:
        units_per_bu = units_for_rows(base, scenario, rows)
    is_scaled = units_per_bu is not None or initiatives is not None

    arguments = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "scale": {"rows_requested": rows, "units_per_bu": units_per_bu, "initiatives": initiatives},
        "defects": defects,
        "registry_sha256": _sha256(registry_path),
        "scenario_sha256": _sha256(scenario_path),
        "truth": _relative(truth, out),
    }
    if not force and (manifest := _is_current(out, arguments)) is not None:
        return {**manifest, "skipped": True}

    _remove_previous(out)
    out.mkdir(parents=True, exist_ok=True)
    scaled = scale_registry(base, units_per_bu, initiatives) if is_scaled else unscaled(base)
    rngs = _streams(seed)
    start = base.portfolio.data_starts_on
    end = start + dt.timedelta(days=scenario.days - 1)

    files = []
    if is_scaled:
        scaled_path = out.resolve().parent / SCALED_REGISTRY
        write_registry(scaled.registry, scaled_path)
        files.append(
            {
                "path": _relative(scaled_path, out),
                "rows": len(scaled.registry.units),
                "bytes": scaled_path.stat().st_size,
                "sha256": _sha256(scaled_path),
            }
        )
    series = build_series(scaled, scenario, rngs["offsets"])
    all_parquet = expected_rows(series, scenario) > PARQUET_ABOVE_ROWS
    plan = DefectPlan.create(rngs["defects"], scaled.registry, scenario) if defects else None
    files += _write_observations(series, scenario, out, start, rngs, all_parquet, plan)
    files += _write_costs(scaled, scenario, out, end, rngs, plan)
    files += _write_adoption(scaled, scenario, out, start, rngs, plan)
    if plan is not None:
        files += plan.write_files(out)

    table_rows = _rows_by_table(files)
    observation_systems = [s for s in scenario.systems if s in table_rows]
    table_rows["kpi_observations"] = sum(table_rows[s] for s in observation_systems)
    truth_doc = _truth(seed, scaled, scenario, series, table_rows, registry_path.name)
    if plan is not None:
        truth_doc["defects"] = plan.truth()  # file, line and expected reason of each defect
    truth.parent.mkdir(parents=True, exist_ok=True)
    truth.write_text(json.dumps(truth_doc, indent=2) + "\n", encoding="utf-8")
    files.append(
        {
            "path": arguments["truth"],
            "rows": len(truth_doc["effects"]),
            "bytes": truth.stat().st_size,
            "sha256": _sha256(truth),
        }
    )

    manifest = {**arguments, "rows": table_rows, "files": files}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return {**manifest, "skipped": False}


def _summary(manifest: dict) -> list[str]:
    files: dict[str, int] = {}
    for f in manifest["files"]:
        folder = f["path"].split("/")[0]
        if folder != "..":
            files[folder] = files.get(folder, 0) + 1
    return [
        f"  {table:<18} {files[table]:>4} file(s) {n:>14,} rows"
        if table in files
        else f"  {table:<18} {'(all systems)':>12} {n:>14,} rows"
        for table, n in manifest["rows"].items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sources.sample.generate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="landing folder")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--truth",
        type=Path,
        default=None,
        help="ground truth JSON (default: <out>/../ground_truth.json)",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--rows", type=int, default=None, help="scale to about this many KPI observations"
    )
    size.add_argument(
        "--units-per-bu",
        type=int,
        default=None,
        help="units per business unit (default: the registry as is)",
    )
    parser.add_argument(
        "--initiatives",
        type=int,
        default=None,
        help="number of initiatives, cloning the registry's (default: as is)",
    )
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument(
        "--defects",
        action="store_true",
        help="add defective rows and files of every kind the loaders catch (ground truth lists "
        "them)",
    )
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    manifest = generate(
        args.registry,
        args.out,
        seed=args.seed,
        truth_path=args.truth,
        rows=args.rows,
        units_per_bu=args.units_per_bu,
        initiatives=args.initiatives,
        scenario_path=args.scenario,
        defects=args.defects,
        force=args.force,
    )
    state = "up to date, skipped (use --force)" if manifest["skipped"] else "written"
    print(f"sample sources (seed {args.seed}) in {args.out}: {state}")
    print("\n".join(_summary(manifest)))
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
