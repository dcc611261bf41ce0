"""Landing a batch in DuckDB: JSON records (JSON lines files, REST pages) and Arrow chunks.

Landing keeps every value as text with its row number; typing is left to `batch.write_batch`,
so a bad value becomes a quarantined row with a reason rather than a failed load.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable

import duckdb
import numpy as np
import pyarrow as pa

from sources.connectors.batch import (
    Batch,
    LoadResult,
    Mode,
    drop_temp_tables,
    json_path,
    literal,
    quote,
    write_batch,
)
from sources.connectors.config import BaseSource
from sources.connectors.errors import BatchRejected
from sources.connectors.rules import EvidenceRules

RESERVED = ("_source_row", "_raw_text")


def begin_landing(con: duckdb.DuckDBPyConnection) -> None:
    """Start from no temp tables, so nothing of an earlier (failed) batch leaks into this one."""
    drop_temp_tables(con)
    con.execute("create temp table _rejected_lines (line bigint, raw_text varchar, reason varchar)")


def stage_json_lines(
    con: duckdb.DuckDBPyConnection, cfg: BaseSource, noun: str = "line"
) -> list[str]:
    """From `_json_lines(_source_row, j)`: lines that are no JSON object are rejected, the mapped
    fields of the others land as text in `_landing`. Blank lines are not rows. Returns the
    mapped fields present plus unmapped top-level keys (for the column checks)."""
    con.execute(
        f"""
        create or replace temp table _json as
        select _source_row, j,
            case
                when not json_valid(j) then 'malformed {noun}: not valid JSON'
                when json_type(j) <> 'OBJECT' then 'malformed {noun}: a JSON ' || case json_type(j)
                    when 'ARRAY' then 'array' when 'VARCHAR' then 'string'
                    when 'BOOLEAN' then 'boolean' when 'NULL' then 'null' else 'number'
                    end || ', expected an object'
            end as _problem
        from _json_lines
        where nullif(trim(j, ' ' || chr(9) || chr(13)), '') is not null
        """
    )
    con.execute(
        "insert into _rejected_lines select _source_row, j, _problem from _json "
        "where _problem is not null"
    )
    mapped = [cfg.source_name(c.name) for c in cfg.contract.source_columns]
    checks = ", ".join(
        f"coalesce(bool_or(json_exists(j, {literal(json_path(m))})), false)" for m in mapped
    )
    flags = con.execute(f"select count(*), {checks} from _json where _problem is null").fetchone()
    if flags[0] == 0:
        present = mapped  # no record to check: an empty batch is fine, not a missing column
    else:
        present = [m for m, ok in zip(mapped, flags[1:], strict=True) if ok]
    keys = [
        r[0]
        for r in con.execute(
            "select distinct unnest(json_keys(j)) from _json where _problem is null order by 1"
        ).fetchall()
    ]
    covered = {m.split(".")[0] for m in mapped}
    fields = "".join(
        f"json_extract_string(j, {literal(json_path(m))}) as {quote(m)}, " for m in present
    )
    con.execute(
        f"create or replace temp table _landing as select {fields}_source_row, j as _raw_text "
        "from _json where _problem is null"
    )
    return present + [k for k in keys if k not in covered]


class JsonRecordLanding:
    """Appends pages of JSON records (as text) to `_json_lines`, numbering them from 1."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.rows = 0
        begin_landing(con)
        con.execute("create temp table _json_lines (_source_row bigint, j varchar)")

    def append(self, records_json: list[str]) -> None:
        if not records_json:
            return
        n = len(records_json)
        chunk = pa.table(
            {
                "_source_row": pa.array(
                    np.arange(self.rows + 1, self.rows + n + 1, dtype=np.int64)
                ),
                "j": pa.array(records_json, pa.string()),
            }
        )
        self.rows += n
        self.con.register("_chunk", chunk)
        try:
            self.con.execute("insert into _json_lines select _source_row, j from _chunk")
        finally:
            self.con.unregister("_chunk")

    def finish(self, cfg: BaseSource) -> list[str]:
        return stage_json_lines(self.con, cfg, noun="record")


def _to_arrow(values: tuple) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        # Mixed or exotic driver types: fall back to their text, typing decides later.
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def rows_to_arrow(names: list[str], rows: list[tuple]) -> pa.Table:
    """A chunk of driver rows as an Arrow table, built column by column by Arrow's converters
    (Python touches single values only for a column Arrow cannot type)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table([_to_arrow(c) for c in columns], names=names)


class ArrowLanding:
    """Appends Arrow chunks to `_landing` as text columns, numbering rows from 1 across chunks."""

    def __init__(self, con: duckdb.DuckDBPyConnection, names: list[str], label: str):
        dupes = sorted({n for n in names if names.count(n) > 1})
        clash = [n for n in names if n in RESERVED]
        if dupes or clash:
            raise BatchRejected(
                f"{label}: column name(s) {dupes or clash} appear twice or are reserved; "
                "give every column of the result its own name (use aliases)"
            )
        self.con, self.names, self.rows = con, names, 0
        begin_landing(con)
        cols = "".join(f"{quote(n)} varchar, " for n in names)
        con.execute(f"create temp table _landing ({cols}_source_row bigint, _raw_text varchar)")
        text = [f"{quote(n)}::varchar" for n in names]
        raw = ", ".join(f"{literal(n)}, {t}" for n, t in zip(names, text, strict=True))
        self._insert = (
            f"insert into _landing select {''.join(t + ', ' for t in text)}"
            f"_source_row, json_object({raw}) from _chunk"
        )

    def append(self, chunk: pa.Table) -> None:
        n = chunk.num_rows
        if n == 0:
            return
        numbers = pa.array(np.arange(self.rows + 1, self.rows + n + 1, dtype=np.int64))
        self.rows += n
        self.con.register("_chunk", chunk.append_column("_source_row", numbers))
        try:
            self.con.execute(self._insert)
        finally:
            self.con.unregister("_chunk")


def load_arrow(
    con: duckdb.DuckDBPyConnection,
    cfg: BaseSource,
    label: str,
    chunks: Iterable[pa.Table],
    *,
    mode: Mode = "refresh",
    loaded_at: dt.datetime | None = None,
    in_transaction: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    expected_extra: frozenset[str] = frozenset(),
    rules: EvidenceRules | None = None,
) -> LoadResult:
    """Land Arrow tables (one batch; the first, possibly empty, names the columns) and write it.

    The chunks are consumed lazily, so a connector can stream a large fetch through it.
    """
    landing = None
    try:
        for chunk in chunks:
            if landing is None:
                landing = ArrowLanding(con, chunk.column_names, label)
            landing.append(chunk)
    except BaseException:
        drop_temp_tables(con)
        raise
    if landing is None:
        raise ValueError(f"{label}: no Arrow table; yield an empty one for an empty fetch")
    batch = Batch(label, tuple(landing.names), mode, row_word="row", expected_extra=expected_extra)
    result = write_batch(
        con, cfg, batch, loaded_at=loaded_at, in_transaction=in_transaction, rules=rules
    )
    result.notes.append(f"{label}: fetched {landing.rows} rows")
    return result


def load_json_records(
    con: duckdb.DuckDBPyConnection,
    cfg: BaseSource,
    label: str,
    pages: Iterable[list],
    *,
    mode: Mode = "refresh",
    loaded_at: dt.datetime | None = None,
    rules: EvidenceRules | None = None,
) -> LoadResult:
    """Land pages of parsed JSON records (one batch, numbered across pages) and write them."""
    landing = JsonRecordLanding(con)
    try:
        for records in pages:
            landing.append([json.dumps(r, ensure_ascii=False) for r in records])
        found = landing.finish(cfg)
    except BaseException:
        drop_temp_tables(con)
        raise
    batch = Batch(label, tuple(found), mode, row_word="row")
    result = write_batch(con, cfg, batch, loaded_at=loaded_at, rules=rules)
    result.notes.append(f"{label}: fetched {landing.rows} records")
    return result
