"""The one validation path every connector shares: type, check the grain, quarantine, write.

A connector lands its batch in the temp table `_landing` (source columns, `_source_row`, and
optionally `_raw_text`) plus `_rejected_lines` (rows it could not even split into columns), then
calls `write_batch`. Everything else happens in DuckDB: try_cast typing with a reason per bad
value, unit conversion, duplicates of the grain, and one transaction that replaces what the
batch owns and appends the load_log line (rows read = rows loaded + rows quarantined).

Ownership (`Batch.mode`) decides what a batch replaces:
- "file": the rows of that file (its label); a grain loaded by another file of the same source
  system is quarantined as a duplicate. Re-loading a file is idempotent.
- "refresh": every row of the source system in the table (a full fetch: rows deleted at the
  source disappear here too).
- "upsert": an incremental fetch; a fetched row whose grain is already loaded replaces the old
  row (late corrections), other rows stay. It also supersedes what earlier fetches quarantined
  for that grain, so raw.quarantine shows what is still wrong; load_log keeps each fetch's counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import duckdb

from sources.connectors.config import BaseSource
from sources.connectors.errors import BatchRejected
from sources.contracts import EVIDENCE_CONTRACTS, LOAD_LOG_DDL, QUARANTINE_DDL, RAW_SCHEMA

SOURCE_CURSORS_DDL = f"""
create table if not exists {RAW_SCHEMA}.source_cursors (
    source_system varchar,
    target_table varchar,
    cursor_column varchar,
    cursor_value varchar,
    cursor_type varchar,
    updated_at timestamp
)"""

TEMP_TABLES = (
    "_landing",
    "_rejected_lines",
    "_typed",
    "_checked",
    "_json_lines",
    "_json",
    "_landing_lines",
    "_blank_lines",
    "_rejects",
    "_rejects_scan",
)

TYPE_WORDS = {
    "date": "a date (expected YYYY-MM-DD)",
    "double": "a number (use a dot for decimals, no thousands separator)",
    "bigint": "a whole number",
}


@dataclass
class LoadResult:
    source_system: str
    table: str
    file: str  # the batch label: file path, "query: ..." or "url: ..."
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    skipped: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)


Mode = Literal["file", "refresh", "upsert"]


@dataclass(frozen=True)
class Batch:
    label: str
    found: tuple[str, ...]  # column names the source delivered (for checks and notes)
    mode: Mode = "file"
    fingerprint: str | None = None  # file sha256, for the skip of unchanged files
    row_word: str = "line"  # how people count this source's rows: lines of a file, rows of a fetch
    raw_separator: str = ","
    expected_extra: frozenset[str] = frozenset()  # columns not worth a note (a cursor column)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    for contract in EVIDENCE_CONTRACTS.values():
        con.execute(contract.ddl())
    con.execute(QUARANTINE_DDL)
    con.execute(LOAD_LOG_DDL)
    con.execute(SOURCE_CURSORS_DDL)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    for temp in TEMP_TABLES:
        con.execute(f"drop table if exists {temp}")


def check_columns(cfg: BaseSource, batch: Batch) -> list[str]:
    """Reject a batch without a required column; return notes on columns nobody maps."""
    found = list(batch.found)
    missing = []
    for col in cfg.contract.source_columns:
        src = cfg.source_name(col.name)
        if col.required and src not in found:
            missing.append(src if src == col.name else f"{src} (mapped to {col.name})")
    if missing:
        hint = ""
        if len(found) == 1 and any(d in found[0] for d in ";|\t"):
            hint = " The header has one column: is the delimiter different? Set it in sources.yaml."
        raise BatchRejected(
            f"{batch.label}: missing required column(s) {', '.join(missing)}; found {found}.{hint} "
            f"Add the columns to the source or fix the mapping for '{cfg.source_system}'."
        )
    mapped = {cfg.source_name(c.name) for c in cfg.contract.source_columns}
    extra = [c for c in found if c not in mapped and c not in batch.expected_extra]
    return [f"{batch.label}: ignored unexpected column(s) {extra}"] if extra else []


def typed_select(cfg: BaseSource, landed: list[str]) -> tuple[str, str]:
    """SQL for the typed (and converted) columns and for the row's rejection reason."""
    typed, reasons = [], []
    for col in cfg.contract.source_columns:
        src = cfg.source_name(col.name)
        ref = quote(src) if src in landed else "null"
        text = f"trim({ref}::varchar)"
        cast = f"try_cast({text} as {col.sql_type})"
        conv = cfg.convert.get(col.name)
        value = f"({cast} * {conv.multiply!r} + {conv.add!r})" if conv else cast
        typed.append(f"{value} as {col.name}")
        if col.required:
            reasons.append(f"case when nullif({text}, '') is null then '{col.name} is empty' end")
        expected = TYPE_WORDS.get(col.sql_type, col.sql_type)
        reasons.append(
            f"case when nullif({text}, '') is not null and {cast} is null then "
            f"'{col.name} ' || {literal(chr(39))} || left({text}, 80) || {literal(chr(39))} "
            f"|| ' is not {expected}' end"
        )
    reason = "nullif(concat_ws('; ', " + ", ".join(reasons) + "), '')"
    return ", ".join(typed), reason


def _landed_columns(con) -> list[str]:
    return [r[0] for r in con.execute("describe _landing").fetchall()]


def write_batch(
    con: duckdb.DuckDBPyConnection,
    cfg: BaseSource,
    batch: Batch,
    *,
    loaded_at: dt.datetime | None = None,
    in_transaction: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> LoadResult:
    """Validate the landed batch and write rows, quarantine and load_log in one transaction.

    `in_transaction` runs inside the same transaction (an incremental cursor moves only when
    its rows are written). Raises BatchRejected when a required column is missing.
    """
    try:
        return _write(con, cfg, batch, loaded_at or now_utc(), in_transaction)
    finally:
        drop_temp_tables(con)


def _write(con, cfg: BaseSource, batch: Batch, loaded_at: dt.datetime, in_transaction):
    result = LoadResult(cfg.source_system, cfg.table, batch.label)
    con.execute(
        "create temp table if not exists _rejected_lines "
        "(line bigint, raw_text varchar, reason varchar)"
    )
    result.notes += check_columns(cfg, batch)
    landed = _landed_columns(con)
    sources = [c for c in landed if c not in ("_source_row", "_raw_text")]
    if "_raw_text" in landed:
        raw_text = "_raw_text"
    else:
        raw_text = (
            f"concat_ws({literal(batch.raw_separator)}, "
            + ", ".join(f"coalesce({quote(c)}::varchar, '')" for c in sources)
            + ")"
        )
    typed, reason = typed_select(cfg, sources)
    contract = cfg.contract
    grain_cols = [c for c in contract.grain if c != "source_system"]
    grain = ", ".join(grain_cols)
    target = f"{RAW_SCHEMA}.{contract.table}"
    src_lit, label_lit = literal(cfg.source_system), literal(batch.label)
    # First occurrence of a grain wins inside the batch; later ones are duplicates.
    con.execute(
        f"""
        create or replace temp table _typed as
        select *,
            first_value(_source_row) over (partition by {grain} order by _source_row) as _first_row
        from (
            select {typed}, _source_row, {reason} as _reason, {raw_text} as _raw_text
            from _landing
        )
        """
    )
    # Only a file can collide with rows it does not own: another file of the same system.
    others = (
        f"select * from {target} where source_system = {src_lit} and source_file <> {label_lit}"
        if batch.mode == "file"
        else f"select * from {target} where false"
    )
    join_on = " and ".join(f"t.{c} = e.{c}" for c in grain_cols)
    con.execute(
        f"""
        create or replace temp table _checked as
        select t.*,
            coalesce(
                t._reason,
                case when t._first_row <> t._source_row
                    then 'duplicate of the grain at {batch.row_word} ' || t._first_row end,
                case when e.source_file is not null
                    then 'grain already loaded from ' || e.source_file
                        || ' {batch.row_word} ' || e.source_row end
            ) as _why
        from _typed as t
        left join ({others}) as e on {join_on}
        """
    )
    cols = ", ".join(c.name for c in contract.source_columns)
    table_lit = literal(cfg.table)
    con.execute("begin transaction")
    try:
        _delete_owned(con, cfg, batch, target, grain_cols)
        con.execute(
            f"""
            insert into {target} (source_system, {cols}, source_file, source_row, loaded_at)
            select {src_lit}, {cols}, {label_lit}, _source_row, ?::timestamp
            from _checked where _why is null
            """,
            [loaded_at],
        )
        con.execute(
            f"""
            insert into {RAW_SCHEMA}.quarantine
            select {src_lit}, {table_lit}, {label_lit}, _source_row, _why, _raw_text, ?::timestamp
            from _checked where _why is not null
            union all
            select {src_lit}, {table_lit}, {label_lit}, line, reason, raw_text, ?::timestamp
            from _rejected_lines
            """,
            [loaded_at, loaded_at],
        )
        counts = con.execute(
            """
            select
                (select count(*) from _checked) + (select count(*) from _rejected_lines),
                (select count(*) from _checked where _why is null),
                (select count(*) from _checked where _why is not null)
                    + (select count(*) from _rejected_lines)
            """
        ).fetchone()
        result.rows_read, result.rows_loaded, result.rows_quarantined = counts
        con.execute(
            f"insert into {RAW_SCHEMA}.load_log values (?, ?, ?, ?, ?, ?, ?, ?)",
            [cfg.table, cfg.source_system, batch.label, batch.fingerprint, *counts, loaded_at],
        )
        if in_transaction is not None:
            in_transaction(con)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def _delete_owned(con, cfg: BaseSource, batch: Batch, target: str, grain_cols: list[str]) -> None:
    quarantine = f"{RAW_SCHEMA}.quarantine"
    if batch.mode == "file":
        con.execute(f"delete from {target} where source_file = ?", [batch.label])
        con.execute(
            f"delete from {quarantine} where target_table = ? and source_file = ?",
            [cfg.table, batch.label],
        )
    elif batch.mode == "refresh":
        con.execute(f"delete from {target} where source_system = ?", [cfg.source_system])
        con.execute(
            f"delete from {quarantine} where target_table = ? and source_system = ?",
            [cfg.table, cfg.source_system],
        )
    else:
        match = " and ".join(f"{target}.{c} = c.{c}" for c in grain_cols)
        con.execute(
            f"delete from {target} using (select * from _checked where _why is null) as c "
            f"where {target}.source_system = ? and {match}",
            [cfg.source_system],
        )
        # A fetched row supersedes what earlier fetches quarantined for its grain (raw_text is
        # the row as JSON), and a successful fetch outdates an earlier batch-level rejection.
        match = " and ".join(f"{_typed_json(cfg, c, 'q.raw_text')} = c.{c}" for c in grain_cols)
        con.execute(
            f"delete from {quarantine} as q using (select distinct {', '.join(grain_cols)} "
            f"from _checked) as c where q.target_table = ? and q.source_system = ? and {match}",
            [cfg.table, cfg.source_system],
        )
        con.execute(
            f"delete from {quarantine} where target_table = ? and source_system = ? "
            "and source_row is null",
            [cfg.table, cfg.source_system],
        )


def json_path(name: str) -> str:
    """JSON path of a mapped field; a dot walks into nested objects (`site.id`)."""
    parts = [p.replace("\\", "\\\\").replace('"', '\\"') for p in name.split(".")]
    return "$." + ".".join(f'"{p}"' for p in parts)


def _typed_json(cfg: BaseSource, canonical: str, json_text: str) -> str:
    """A canonical column typed from a row kept as JSON text, the way typed_select types it."""
    col = next(c for c in cfg.contract.source_columns if c.name == canonical)
    path = literal(json_path(cfg.source_name(canonical)))
    return (
        f"(case when json_valid({json_text}) then "
        f"try_cast(trim(json_extract_string({json_text}, {path})) as {col.sql_type}) end)"
    )


def record_rejected(
    con: duckdb.DuckDBPyConnection, cfg: BaseSource, label: str, message: str
) -> None:
    """A rejected batch keeps earlier rows (if any) and gets one quarantine row saying why."""
    drop_temp_tables(con)
    con.execute(
        f"delete from {RAW_SCHEMA}.quarantine where target_table = ? and source_file = ? "
        "and source_row is null",
        [cfg.table, label],
    )
    con.execute(
        f"insert into {RAW_SCHEMA}.quarantine values (?, ?, ?, null, ?, null, ?)",
        [cfg.source_system, cfg.table, label, message, now_utc()],
    )
