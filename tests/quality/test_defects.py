"""The sample with defects (`generate(..., defects=True)`): every defect is caught as its
ground truth says, and the clean evidence gets through untouched, up to the marts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from sources.sample.generate import DEFAULT_REGISTRY, generate
from tests.conftest import REPO
from tests.quality.warehouse import CONFIGS, rules, write_registry


@pytest.fixture(scope="module")
def defective(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("defects")
    generate(DEFAULT_REGISTRY, home / "sources", seed=7, defects=True)
    return home


@pytest.mark.slow  # loads the whole sample (about 10 s)
def test_every_injected_defect_is_caught_and_the_clean_rows_all_load(defective, tmp_path):
    from assets.ingest.evidence import load_evidence

    clean = generate(DEFAULT_REGISTRY, tmp_path / "clean" / "sources", seed=7)
    truth = json.loads((defective / "ground_truth.json").read_text())["defects"]
    root = defective / "sources"
    with duckdb.connect() as con:
        write_registry(con)
        results = list(load_evidence(con, CONFIGS, root, rules()))
        quarantine = con.execute("select source_file, source_row, reason from raw.quarantine")
        quarantine = quarantine.fetchall()
        loaded = {
            t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
            for t in ("kpi_observations", "ai_costs", "adoption")
        }
    assert all(r.rows_read == r.rows_loaded + r.rows_quarantined for r in results)
    said = {r.file: [*r.notes, r.error or ""] for r in results}
    kinds = set()
    for d in truth:
        path = str(root / d["file"])
        if d["expect"] == "note":
            found = said[path]
        else:
            line = d["line"] if d["expect"] == "quarantined" else None
            found = [reason for f, row, reason in quarantine if f == path and row == line]
        assert any(d["reason"] in text for text in found), (d, found)
        kinds.add(d["kind"])
    assert len(quarantine) == sum(d["expect"] != "note" for d in truth)
    assert {
        "malformed_line",
        "wrong_delimiter",
        "missing_column",
        "extra_column",
        "decimal_comma",
        "not_a_number",
        "empty_value",
        "empty_file",
        "header_only",
        "duplicate_across_files",
        "conflicting_in_file",
        "conflicting_across_files",
        "negative_value",
        "wrong_unit",
        "future_date",
        "before_start",
        "unknown_kpi",
        "unknown_unit",
        "unknown_initiative",
        "not_utf8",
        "very_long_line",
        "wrong_currency",
        "active_above_eligible",
    } <= kinds
    # nothing clean was lost: every row of the clean sample loaded
    rows = clean["rows"]
    assert loaded == {
        "kpi_observations": rows["kpi_observations"],
        "ai_costs": rows["finance_ledger"],
        "adoption": rows["ai_platform"],
    }


def _table(con, name: str) -> list[tuple]:
    """A mart's rows without run-specific columns (load times, evidence status)."""
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema || '.' || table_name = ? order by ordinal_position",
            [name],
        ).fetchall()
        if not c.endswith("_at") and "evidence" not in c and "verified" not in c
    ]
    rows = con.execute(f"select {', '.join(columns)} from {name} order by all").fetchall()
    # sums may add up in another order from run to run: compare 9 significant digits
    return [tuple(float(f"{v:.9g}") if isinstance(v, float) else v for v in r) for r in rows]


@pytest.mark.slow
def test_the_defective_sample_still_produces_the_marts_of_the_clean_evidence(defective, built_home):
    env = {**os.environ, "VALUELEDGER_HOME": str(defective)}
    for var in ("VALUELEDGER_WAREHOUSE", "VALUELEDGER_SOURCES", "VALUELEDGER_REPORTS"):
        env.pop(var, None)
    subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run", "--no-sample"],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    assert (defective / "reports" / "portfolio_summary.csv").exists()
    marts = ("marts.fct_initiative_value_monthly", "reports.rpt_initiative_summary")
    with (
        duckdb.connect(str(defective / "warehouse.duckdb"), read_only=True) as dirty,
        duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as clean,
    ):
        for name in marts:
            assert _table(dirty, name) == _table(clean, name), name
        status = dict(
            dirty.execute(
                "select initiative_id, evidence_status "
                "from intermediate.int_evidence_status_by_initiative"
            ).fetchall()
        )
        blocking = dirty.execute(
            "select check_name from quality.evidence_checks "
            "where is_check_summary and check_level = 'blocking' and status <> 'pass'"
        ).fetchall()
    assert blocking == []
    # the defects concern contact-centre, warehouse and adoption evidence: warnings, no failure
    assert status["cs-agent-assist"] == "warn" and status["ops-pick-path"] == "warn"
    assert "fail" not in status.values()
