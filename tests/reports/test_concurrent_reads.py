"""BI readers during a run: the published copy never fails a read, and the report never tears.

After a first `valueledger run`, a separate reader process queries
`<home>/published/warehouse.duckdb` (read-only, as a BI tool would) and reads the report's
`index.html` in a loop while a second full run writes the warehouse, publishes a new copy and
swaps in a new report. The reader must record zero failed reads, enough reads to mean
something, and at least one swap of each (a new inode behind the same path).

Slow (two full runs, 1-4 min): `pytest -m slow tests/reports/test_concurrent_reads.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MIN_READS = 20

READER = r"""
import json, os, sys, time, traceback
import duckdb

published, index, stop, out = sys.argv[1:5]
reads = failures = report_reads = 0
errors, inodes, report_targets = [], [], []
while not os.path.exists(stop):
    try:
        inode = os.stat(published).st_ino
        with duckdb.connect(published, read_only=True) as con:
            rows = con.execute(
                "select count(*), sum(coalesce(v.attributed_value_amount, 0)) "
                "from marts.fct_initiative_value_monthly as v "
                "inner join marts.dim_initiatives as i using (initiative_id)"
            ).fetchone()
            if not rows[0]:
                raise AssertionError("published copy has no value rows")
        if not inodes or inodes[-1] != inode:
            inodes.append(inode)
        reads += 1
    except Exception:
        failures += 1
        errors.append(traceback.format_exc(limit=2))
    try:
        target = os.path.realpath(index)
        with open(index, encoding="utf-8") as fh:
            html = fh.read()
        if not html.rstrip().endswith("</html>"):
            raise AssertionError("half a report")
        if not report_targets or report_targets[-1] != target:
            report_targets.append(target)
        report_reads += 1
    except Exception:
        failures += 1
        errors.append(traceback.format_exc(limit=2))
    time.sleep(0.05)
with open(out, "w") as fh:
    json.dump({"reads": reads, "report_reads": report_reads, "failures": failures,
               "errors": errors[:5], "inodes": inodes, "report_targets": report_targets}, fh)
"""


def _run(home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "VALUELEDGER_HOME": str(home)}
    for var in ("VALUELEDGER_WAREHOUSE", "VALUELEDGER_SOURCES", "VALUELEDGER_REPORTS"):
        env.pop(var, None)
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_readers_of_the_published_copy_never_fail_during_a_run(tmp_path):
    home = tmp_path / "home"
    first = _run(home)
    assert first.returncode == 0, first.stderr[-3000:]
    published = home / "published" / "warehouse.duckdb"
    index = home / "reports" / "value_report" / "index.html"
    assert published.is_file() and index.is_file()

    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published), str(index), str(stop), str(out)],
        cwd=REPO,
    )
    try:
        time.sleep(1.0)  # the reader is reading before the run starts
        started = time.monotonic()
        second = _run(home)
        took = time.monotonic() - started
        time.sleep(1.0)  # and still reads the new copy afterwards
    finally:
        stop.touch()
        try:
            reader.wait(timeout=60)
        except subprocess.TimeoutExpired:
            reader.kill()
            reader.wait()
    assert second.returncode == 0, second.stderr[-3000:]
    result = json.loads(out.read_text())
    print(
        f"\nrun {took:.0f} s: {result['reads']} warehouse reads, {result['report_reads']} "
        f"report reads, {result['failures']} failures, {len(result['inodes'])} copies seen, "
        f"{len(result['report_targets'])} report versions seen"
    )
    assert result["failures"] == 0, result["errors"]
    assert result["reads"] >= MIN_READS and result["report_reads"] >= MIN_READS, result
    assert len(result["inodes"]) >= 2, "the published copy was never swapped during the run"
    assert len(result["report_targets"]) >= 2, "the report was never swapped during the run"
