"""Run the evidence suites: frames from DuckDB, GX checkpoints, results into the warehouse.

`run_gates` is the whole gate without Dagster: the asset in evidence_checks.py calls it and
turns each `CheckOutcome` into an AssetCheckResult. Great Expectations is imported here, inside
the call (5-10 s on import): loading the Dagster definitions never pays for it.

Results land in `quality.evidence_checks`, one summary row per check and one row per failing
entity (source system, KPI x unit, initiative x KPI...) naming it, so dbt can tell which
initiatives a failure concerns. GX's own validation results and the Data Docs go to the data
folder; only the latest run is kept there (the warehouse table keeps the history).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import shutil
import string
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from assets.quality.profiles import (
    QUALITY_SCHEMA,
    RESULTS_TABLE,
    check_parameters,
    profile_frames,
)
from assets.quality.suites import CHECKS, GX_ROOT, Check
from sources.connectors.batch import ensure_raw_schema

IDENTITY = ("table_name", "source_system", "initiative_id", "kpi_id", "unit_id")
KEEP_RUNS = 200  # runs of history kept in quality.evidence_checks

RESULTS_DDL = f"""
create table if not exists {RESULTS_TABLE} (
    run_id varchar,
    checked_at timestamp,
    check_name varchar,
    check_level varchar,
    is_check_summary boolean,
    table_name varchar,
    source_system varchar,
    initiative_id varchar,
    kpi_id varchar,
    unit_id varchar,
    status varchar,
    observed_value double,
    threshold varchar,
    message varchar
)"""
RESULT_COLUMNS = (
    "run_id",
    "checked_at",
    "check_name",
    "check_level",
    "is_check_summary",
    *IDENTITY,
    "status",
    "observed_value",
    "threshold",
    "message",
)


@dataclass
class CheckOutcome:
    check: Check
    status: str  # pass | warn | fail
    entities: int  # rows of the frame the check judged
    failing: list[dict] = field(default_factory=list)  # evidence_checks rows of failing entities
    recorded: list[dict] = field(default_factory=list)  # rows kept although passing (history)
    evaluated: int = 0  # GX expectations evaluated
    successful: int = 0
    errors: list[str] = field(default_factory=list)  # an expectation that could not run

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def threshold(self) -> str:
        return "; ".join(e.threshold for e in self.check.expectations)

    @property
    def message(self) -> str:
        c = self.check
        if self.errors:
            return f"{c.name} could not run: {'; '.join(self.errors)}"
        if self.passed:
            return f"{c.description} All {self.entities} checked pass."
        messages = list(dict.fromkeys(r["message"] for r in self.failing))
        shown = "; ".join(messages[:3])
        more = f" (and {len(messages) - 3} more)" if len(messages) > 3 else ""
        return f"{c.description} {len(messages)} of {self.entities} fail: {shown}{more}"


@dataclass
class GateRun:
    run_id: str
    checked_at: dt.datetime
    outcomes: list[CheckOutcome]
    docs_index: Path | None
    seconds: dict[str, float]

    @property
    def failed_blocking(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if o.check.blocking and not o.passed]


class _Formatter(string.Formatter):
    """str.format for frame rows: numbers and dates as people write them, '-' for nothing."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if _missing(value):
            return "-"
        if format_spec:
            return format(value, format_spec)
        if isinstance(value, float):
            return f"{value:.6g}"
        if isinstance(value, pd.Timestamp | dt.datetime):
            ts = pd.Timestamp(value)
            return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat(sep=" ")[:19]
        if isinstance(value, list | tuple):
            return ", ".join(map(str, value))
        return str(value)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value)) if not isinstance(value, list | tuple) else False
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    """A frame cell as a Python value (numpy scalars and arrays unwrapped)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _number(value: Any) -> float | None:
    value = _plain(value)
    if isinstance(value, bool | int | float) and not _missing(value):
        return float(value) if not (isinstance(value, float) and math.isinf(value)) else None
    return None


def _entity_rows(check: Check, row: Mapping, observed: str, status: str) -> list[dict]:
    """The evidence_checks rows of one frame row: its identity, one row per KPI where a
    source-level row lists the KPIs it feeds (so dbt can map it to initiatives)."""
    ident = {k: (None if _missing(row.get(k)) else str(row.get(k))) for k in IDENTITY}
    ident["table_name"] = ident["table_name"] or check.table
    base = {
        "check_name": check.name,
        "check_level": check.level,
        "is_check_summary": False,
        **ident,
        "status": status,
        "observed_value": _number(row.get(observed)),
        "message": _Formatter().format(check.detail, **{k: _plain(v) for k, v in row.items()}),
    }
    kpis = _plain(row.get("kpi_ids"))
    if ident["kpi_id"] is None and isinstance(kpis, list) and kpis:
        return [{**base, "kpi_id": k} for k in kpis]
    return [base]


def evaluate(
    frames: Mapping[str, pd.DataFrame],
    results: Mapping[str, Any],
    errors: Mapping[str, str] | None = None,
) -> list[CheckOutcome]:
    """Check outcomes from the GX suite results (one per frame); a frame that could not be
    computed fails its checks."""
    outcomes = {c.name: CheckOutcome(c, "pass", len(frames[c.frame])) for c in CHECKS}
    for check in CHECKS:
        if errors and check.frame in errors:
            outcomes[check.name].errors.append(f"{check.frame}: {errors[check.frame]}")
    failing_index: dict[str, dict[int, str]] = {c.name: {} for c in CHECKS}
    for suite_result in results.values():
        for er in suite_result.results:
            meta = er.expectation_config.meta
            outcome = outcomes[meta["check"]]
            outcome.evaluated += 1
            if er.exception_info and er.exception_info.get("raised_exception"):
                outcome.errors.append(er.exception_info.get("exception_message", "error"))
                continue
            if er.success:
                outcome.successful += 1
                continue
            for i in er.result.get("unexpected_index_list") or []:
                failing_index[meta["check"]].setdefault(int(i), meta["observed"])
            if not er.result.get("unexpected_index_list"):
                outcome.errors.append(f"{er.expectation_config.type} failed on the whole frame")
    for name, outcome in outcomes.items():
        check = outcome.check
        frame = frames[check.frame]
        bad_status = "warn" if check.level == "warn" else "fail"
        bad = failing_index[name]
        if bad or outcome.errors:
            outcome.status = bad_status
        for i, observed in sorted(bad.items()):
            outcome.failing += _entity_rows(check, frame.loc[i].to_dict(), observed, bad_status)
        if check.record_all:
            observed = check.expectations[0].observed
            for i in frame.index.difference(list(bad)):
                outcome.recorded += _entity_rows(check, frame.loc[i].to_dict(), observed, "pass")
    return list(outcomes.values())


_GX_IMPORT = threading.Lock()


def _import_gx():
    """Import GX without pyspark: GX imports it (1 s, and noise on stdout) when installed, for
    Spark datasources we do not use. pyspark stays importable for anyone else afterwards.
    Under a lock: the import may be under way in the background (`_start_gx_import`)."""
    with _GX_IMPORT:
        if "pyspark" in sys.modules:
            import great_expectations as gx

            return gx
        sys.modules["pyspark"] = None  # type: ignore[assignment]  # makes `import pyspark` fail
        try:
            import great_expectations as gx
        finally:
            del sys.modules["pyspark"]
        return gx


def _start_gx_import() -> None:
    """Import GX in a background thread while DuckDB profiles the evidence: DuckDB releases the
    GIL while it runs a query, so the 3 s import mostly overlaps the profiles instead of
    following them. A failed import is raised by validate(), which imports again."""

    def load():
        with contextlib.suppress(Exception):  # validate() imports again and raises it
            _import_gx()

    threading.Thread(target=load, name="gx-import", daemon=True).start()


def _gx_context(results_dir: Path, docs_dir: Path):
    gx = _import_gx()

    return gx.get_context(
        mode="file",
        project_root_dir=str(GX_ROOT),
        runtime_environment={
            "VALUELEDGER_GX_RESULTS": str(results_dir),
            "VALUELEDGER_GX_DOCS": str(docs_dir),
        },
    )


def validate(
    frames: Mapping[str, pd.DataFrame],
    parameters: dict,
    run_id: str,
    checked_at: dt.datetime,
    out_dir: Path,
    build_docs: bool = True,
) -> tuple[dict[str, Any], Path | None, dict[str, float]]:
    """Run each frame's checkpoint; results and Data Docs of this run only, below out_dir."""
    seconds = {}
    started = time.perf_counter()
    _import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    seconds["gx_import"] = time.perf_counter() - started
    results_dir, docs_dir = out_dir / "validations", out_dir / "data_docs"
    for folder in (results_dir, docs_dir):
        shutil.rmtree(folder, ignore_errors=True)  # GX keeps the latest run; history is in SQL
        folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    context = _gx_context(results_dir, docs_dir)
    gx_run = RunIdentifier(run_name=run_id, run_time=checked_at.replace(tzinfo=dt.UTC))
    results = {}
    for frame, df in frames.items():
        if df.empty and not len(df.columns):
            continue  # not computed (see profile_frames): its checks fail without GX
        checkpoint = context.checkpoints.get(frame)
        result = checkpoint.run(
            batch_parameters={"dataframe": df}, expectation_parameters=parameters, run_id=gx_run
        )
        results[frame] = next(iter(result.run_results.values()))
    seconds["gx_validate"] = time.perf_counter() - started
    index = None
    if build_docs:
        started = time.perf_counter()
        context.build_data_docs()
        index = docs_dir / "index.html"
        seconds["data_docs"] = time.perf_counter() - started
    return results, index, seconds


def write_results(
    con: duckdb.DuckDBPyConnection, outcomes: list[CheckOutcome], run_id: str, at: dt.datetime
) -> int:
    """Append this run's rows to quality.evidence_checks (keeping KEEP_RUNS runs)."""
    rows = []
    for o in outcomes:
        rows.append(
            {
                "check_name": o.check.name,
                "check_level": o.check.level,
                "is_check_summary": True,
                "table_name": o.check.table,
                "status": o.status,
                "observed_value": float(len(o.failing)),
                "threshold": o.threshold,
                "message": o.message,
            }
        )
        rows += [{**r, "threshold": o.threshold} for r in [*o.failing, *o.recorded]]
    frame = pd.DataFrame(
        [{"run_id": run_id, "checked_at": at, **r} for r in rows], columns=list(RESULT_COLUMNS)
    )
    frame = frame.astype({"is_check_summary": bool, "observed_value": float})
    con.execute(f"create schema if not exists {QUALITY_SCHEMA}")
    con.execute(RESULTS_DDL)
    con.register("_evidence_checks", frame)
    try:
        con.execute("begin transaction")
        con.execute(f"delete from {RESULTS_TABLE} where run_id = ?", [run_id])
        con.execute(
            f"insert into {RESULTS_TABLE} ({', '.join(RESULT_COLUMNS)}) "
            f"select {', '.join(RESULT_COLUMNS)} from _evidence_checks"
        )
        con.execute(
            f"""
            delete from {RESULTS_TABLE} where run_id not in (
                select run_id from {RESULTS_TABLE} group by run_id
                order by max(checked_at) desc limit {KEEP_RUNS})
            """
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_evidence_checks")
    return len(frame)


def run_gates(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    *,
    run_id: str | None = None,
    today: dt.date | None = None,
    build_docs: bool = True,
) -> GateRun:
    """Validate the evidence in the warehouse, record the results, build the Data Docs."""
    checked_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    today = today or checked_at.date()
    run_id = run_id or uuid.uuid4().hex
    started = time.perf_counter()
    ensure_raw_schema(con)  # the tables exist (empty) even before any source was loaded
    _start_gx_import()
    frames, errors = profile_frames(con, today)
    parameters = check_parameters(con, today)
    profile_seconds = time.perf_counter() - started
    results, index, seconds = validate(
        frames, parameters, run_id, checked_at, Path(out_dir), build_docs
    )
    outcomes = evaluate(frames, results, errors)
    write_results(con, outcomes, run_id, checked_at)
    return GateRun(run_id, checked_at, outcomes, index, {"profiles": profile_seconds, **seconds})
