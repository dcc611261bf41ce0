"""What the set-loading tests compare: a source's files loaded as a set (`load_source`) and one
by one in name order (`load_file`), with the tables, quarantine and load_log of each."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import duckdb

from sources.files import FileRejected, SourceConfig, ensure_raw_schema, load_file, load_source

LOADED_AT = dt.datetime(2026, 1, 1)


def wms_source(fmt: str) -> SourceConfig:
    """The source the set tests load: every `wms/*.<fmt>` file, its values converted."""
    return SourceConfig(
        source_system="wms",
        table="kpi_observations",
        format=fmt,
        path=f"wms/*.{fmt}",
        convert={"value": {"multiply": 2.0}},
    )


def load_state(con) -> dict[str, list[tuple]]:
    return {
        "rows": con.execute(
            "select unit_id, kpi_id, observed_on, value, source_file, source_row "
            "from raw.kpi_observations order by all"
        ).fetchall(),
        # Whole-file rejections (no row) are recorded by load_source, not by load_file itself.
        "quarantine": con.execute(
            "select source_file, source_row, reason, raw_text, unit_id from raw.quarantine "
            "where source_row is not null order by all"
        ).fetchall(),
        "load_log": con.execute(
            "select source_file, rows_read, rows_loaded, rows_quarantined from raw.load_log "
            "order by all"
        ).fetchall(),
    }


def load_one_by_one(con, cfg: SourceConfig, root: Path) -> None:
    for path in cfg.files(root):
        with contextlib.suppress(FileRejected):
            load_file(con, cfg, path, loaded_at=LOADED_AT)


def set_and_one_by_one(cfg: SourceConfig, root: Path) -> tuple[dict, dict]:
    """The state after loading the files as a set, and after loading them one by one."""
    states = []
    for load in (lambda c: load_source(c, cfg, root, loaded_at=LOADED_AT), None):
        con = duckdb.connect()
        ensure_raw_schema(con)
        if load is None:
            load_one_by_one(con, cfg, root)
        else:
            load(con)
        states.append(load_state(con))
        con.close()
    return states[0], states[1]
