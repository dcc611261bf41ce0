"""The progress logger prints one line per step start and end, with counts and timing."""

from __future__ import annotations

import io
import sys

import dagster as dg

from orchestration.progress import progress_logger


@dg.asset
def first():
    return 1


@dg.asset
def second(first):
    raise RuntimeError("no")


def test_progress_lines(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "__stdout__", out)
    defs = dg.Definitions(assets=[first, second], loggers={"progress": progress_logger})
    outcome = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        run_config={"loggers": {"progress": {}}}, raise_on_error=False
    )
    assert not outcome.success
    lines = out.getvalue().splitlines()
    assert lines[0] == "    first ..."
    assert lines[1].startswith("    first: done in ") and lines[1].endswith("(1 assets and checks)")
    assert lines[2] == "    second ..."
    assert lines[3].startswith("    second: FAILED in ")
