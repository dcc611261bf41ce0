"""The one validation path every connector shares: type, check the grain, quarantine, write.

A connector lands its batch in the temp table `_landing` (source columns, `_source_row`, and
optionally `_raw_text`) plus `_rejected_lines` (rows it could not even split into columns), then
calls `write_batch`. Everything else happens in DuckDB: try_cast typing with a reason per bad
value, unit conversion, the registry's semantic rules when given (`rules.EvidenceRules`: unknown
ids, impossible or wrong-unit values, dates in the future or before the data starts, active users
above eligible, another currency), duplicates of the grain, and one transaction that replaces
what the batch owns and appends the load_log line (rows read = rows loaded + rows quarantined).

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
from sources.connectors.rules import RULE_TABLES, EvidenceRules
from sources.contracts import (
    EVIDENCE_CONTRACTS,
    LOAD_LOG_DDL,
    QUARANTINE_DDL,
    QUARANTINE_ID_COLUMNS,
    RAW_SCHEMA,
)

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
    "_landing",  # a table, or a view over Parquet files or `_csv_rows` (read once, into `_typed`)
    "_csv_rows",
    "_typed",
    "_batches",
    "_dups",
    "_dup_rows",
    "_rejected_lines",
    "_bad",
    "_json_lines",
    "_json",
    "_landing_lines",
    "_blank_lines",
    "_rejects",
    "_rejects_scan",
    *RULE_TABLES,
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
    # Columns added after the first release (a no-op on a warehouse that has them).
    for column in QUARANTINE_ID_COLUMNS:
        con.execute(
            f"alter table {RAW_SCHEMA}.quarantine add column if not exists {column} varchar"
        )
    con.execute(f"alter table {RAW_SCHEMA}.load_log add column if not exists rules_sha256 varchar")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def text_list(texts: list[str]) -> str:
    """A SQL list of texts (`['a', 'b']::varchar[]`), for a view or an index by position."""
    return "[" + ", ".join(literal(t) for t in texts) + "]::varchar[]"


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    temp_views = con.execute(
        "select view_name from duckdb_views() where temporary and not internal"
    ).fetchall()
    views = {r[0] for r in temp_views}
    for temp in TEMP_TABLES:
        con.execute(f"drop {'view' if temp in views else 'table'} if exists {temp}")


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


def typed_select(
    cfg: BaseSource, landed: list[str], native: dict[str, str] | None = None
) -> tuple[str, str]:
    """SQL for the typed (and converted) columns and for the row's rejection reason.

    `native` maps landed columns to their DuckDB type: a column that already has the
    contract's type (a Parquet date or double) is taken as it is, with no round trip through
    text; only its emptiness can be wrong.
    """
    native = native or {}
    typed, reasons = [], []
    for col in cfg.contract.source_columns:
        src = cfg.source_name(col.name)
        ref = quote(src) if src in landed else "null"
        text = f"trim({ref}::varchar)"
        as_is = src in landed and col.sql_type != "varchar"
        as_is = as_is and native.get(src, "").lower() == col.sql_type
        cast = ref if as_is else f"try_cast({text} as {col.sql_type})"
        conv = cfg.convert.get(col.name)
        value = f"({cast} * {conv.multiply!r} + {conv.add!r})" if conv else cast
        typed.append(f"{value} as {col.name}")
        if col.required:
            empty = f"{ref} is null" if as_is else f"nullif({text}, '') is null"
            reasons.append(f"case when {empty} then '{col.name} is empty' end")
        if as_is:
            continue
        expected = TYPE_WORDS.get(col.sql_type, col.sql_type)
        reasons.append(
            f"case when nullif({text}, '') is not null and {cast} is null then "
            f"'{col.name} ' || {literal(chr(39))} || left({text}, 80) || {literal(chr(39))} "
            f"|| ' is not {expected}' end"
        )
    reason = "nullif(concat_ws('; ', " + ", ".join(reasons) + "), '')"
    return ", ".join(typed), reason


def _num(expr: str) -> str:
    """A number as people write it (no trailing .0, up to ten significant digits)."""
    return f"printf('%.10g', {expr})"


def _value_reason() -> str:
    """Why a KPI value cannot be true: negative where the minimum is 0, or outside the
    catalogue's range. A value that fits once divided or multiplied by a factor usual for the
    KPI's unit of measure (60 for minutes, 100 for a share...) is called a probable wrong unit."""
    v, lo, hi = "t.value", "coalesce(rk.min_value, -1e308)", "coalesce(rk.max_value, 1e308)"
    kpi = "' of KPI ''' || rk.kpi_id || ''' (' || rk.unit_of_measure || ')'"
    divide = f"list_filter(rk.factors, lambda f: {v} / f between {lo} and {hi})[1]"
    multiply = f"list_filter(rk.factors, lambda f: {v} * f between {lo} and {hi})[1]"
    fix = "', which fits: convert it in the source, or with convert in sources.yaml'"
    hint = f"""coalesce(
        case when {v} > {hi} then '; wrong unit? divided by ' || {_num(divide)}
            || ' it would be ' || {_num(f"{v} / {divide}")} || {fix} end,
        case when {v} < {lo} then '; wrong unit? multiplied by ' || {_num(multiply)}
            || ' it would be ' || {_num(f"{v} * {multiply}")} || {fix} end,
        '; check the value in the source'
    )"""
    return f"""case when {v} < {lo} or {v} > {hi} then
        case when {v} < 0 and {lo} >= 0 then
            'value ' || {_num(v)} || ' is negative, impossible for KPI ''' || rk.kpi_id
                || ''' (' || rk.unit_of_measure || ', minimum ' || {_num(lo)}
                || '); check the sign in the source'
        when {v} > {hi} then
            'value ' || {_num(v)} || ' is above the maximum ' || {_num(hi)} || {kpi} || {hint}
        else
            'value ' || {_num(v)} || ' is below the minimum ' || {_num(lo)} || {kpi} || {hint}
        end
    end"""


def semantic_checks(cfg: BaseSource, rules: EvidenceRules, today: dt.date) -> tuple[str, str]:
    """(joins, reason): SQL over `_typed as t` for what the registry says cannot be true.

    Only values that typed cleanly are judged (a null compares to nothing); each reason names
    the field, the value and what to do. Ids compare in lower case, as dbt's staging reads them.
    """
    table = cfg.table
    cols = {c.name for c in cfg.contract.source_columns}
    joins, reasons = [], []

    def unknown(col: str, alias: str, rule_table: str, what: str, noun: str) -> None:
        joins.append(f"left join {rule_table} as {alias} on lower(t.{col}) = {alias}.{col}")
        reasons.append(
            f"case when t.{col} is not null and {alias}.{col} is null then '{col} ''' "
            f"|| t.{col} || ''' is not {what}; fix the id in the source or add the {noun} to "
            "the registry' end"
        )

    if "kpi_id" in cols:
        unknown("kpi_id", "rk", "_rule_kpis", "in the KPI catalogue", "KPI")
    if "unit_id" in cols:
        unknown("unit_id", "ru", "_rule_units", "a unit of the registry", "unit")
    if "initiative_id" in cols:
        unknown("initiative_id", "ri", "_rule_initiatives", "an initiative", "initiative")
    if table == "kpi_observations":
        reasons.append(_value_reason())
        reasons.append(
            f"case when t.weight < 0 then 'weight ' || {_num('t.weight')} "
            "|| ' is negative; a volume or denominator cannot be' end"
        )
    today_lit = f"date '{today.isoformat()}'"
    for col in ("observed_on", "cost_month"):
        if col in cols:
            reasons.append(
                f"case when t.{col} > {today_lit} then '{col} ' || t.{col} || ' is in the "
                f"future (the load ran on {today.isoformat()}); check the date, the year "
                "especially' end"
            )
    # Costs may start before the evidence does (a poc is paid before any KPI moves).
    if table in ("kpi_observations", "adoption"):
        start = rules.data_starts_on.isoformat()
        reasons.append(
            f"case when t.observed_on < date '{start}' then 'observed_on ' || t.observed_on "
            f"|| ' is before the portfolio''s data starts ({start}, registry "
            "portfolio.data_starts_on); fix the date or drop the row' end"
        )
    if table == "adoption":
        for col in ("active_users", "eligible_users"):
            reasons.append(
                f"case when t.{col} < 0 then '{col} ' || t.{col} "
                "|| ' is negative; a count of users cannot be' end"
            )
        reasons.append(
            "case when t.active_users > t.eligible_users then 'active_users ' || t.active_users "
            "|| ' exceeds eligible_users ' || t.eligible_users "
            "|| '; check the two columns (swapped?) in the source' end"
        )
    if table == "ai_costs":
        currency = rules.currency.replace("'", "''")
        reasons.append(
            f"case when upper(t.currency) <> '{currency}' then 'currency ''' || t.currency "
            f"|| ''' is not the portfolio currency {currency}; convert the amount to "
            f"{currency} in the source' end"
        )
    reason = "nullif(concat_ws('; ', " + ", ".join(reasons) + "), '')"
    return " ".join(joins), reason


def _landed_columns(con) -> dict[str, str]:
    """Landed column -> its DuckDB type."""
    return {r[0]: r[1] for r in con.execute("describe _landing").fetchall()}


def write_batch(
    con: duckdb.DuckDBPyConnection,
    cfg: BaseSource,
    batch: Batch,
    *,
    loaded_at: dt.datetime | None = None,
    in_transaction: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    rules: EvidenceRules | None = None,
) -> LoadResult:
    """Validate the landed batch and write rows, quarantine and load_log in one transaction.

    `in_transaction` runs inside the same transaction (an incremental cursor moves only when
    its rows are written). `rules` adds the registry's semantic checks (unknown ids, impossible
    values, dates...). Raises BatchRejected when a required column is missing.
    """
    return write_batches(
        con, cfg, [batch], loaded_at=loaded_at, in_transaction=in_transaction, rules=rules
    )[0]


def write_batches(
    con: duckdb.DuckDBPyConnection,
    cfg: BaseSource,
    batches: list[Batch],
    *,
    loaded_at: dt.datetime | None = None,
    in_transaction: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    rules: EvidenceRules | None = None,
) -> list[LoadResult]:
    """`write_batch` for several files landed together: one pass and one transaction for all.

    `_landing` carries `_batch`, the index of each row's batch in `batches` (all "file" mode);
    the outcome is what loading the files one by one in that order gives: a grain a file shares
    with an earlier file of the set, or with a file outside it, is quarantined the same way.
    `_rejected_lines` (lines that could not be split) belong to the first batch: formats landed
    as a set (Parquet) have none.
    """
    if len(batches) > 1 and any(b.mode != "file" for b in batches):
        raise ValueError("only files are written as a set")
    try:
        return _write(con, cfg, batches, loaded_at or now_utc(), in_transaction, rules)
    finally:
        drop_temp_tables(con)


def _conflict(payload: list[str]) -> str:
    """SQL suffix for a grain loaded from another file with other values: what differs."""
    if not payload:
        return "''"
    differs = " or ".join(f"t.{c} is distinct from e.{c}" for c in payload)
    shown = ", ".join(
        f"case when t.{c} is distinct from e.{c} then '{c} ' || coalesce(e.{c}::varchar, "
        f"'empty') || ' there, ' || coalesce(t.{c}::varchar, 'empty') || ' here' end"
        for c in payload
    )
    return (
        f"case when {differs} then ' with other values (' || concat_ws(', ', {shown}) "
        "|| '); keep each grain in one file and correct the wrong one' else '' end"
    )


def _batches_table(con, batches: list[Batch]) -> None:
    """`_batches(_batch, label, fingerprint)`: what each row's `_batch` index stands for."""
    con.execute(
        "create or replace temp table _batches (_batch integer, label varchar, fingerprint varchar)"
    )
    con.executemany(
        "insert into _batches values (?, ?, ?)",
        [[i, b.label, b.fingerprint] for i, b in enumerate(batches)],
    )


def _write(
    con,
    cfg: BaseSource,
    batches: list[Batch],
    loaded_at: dt.datetime,
    in_transaction,
    rules: EvidenceRules | None,
) -> list[LoadResult]:
    batch = batches[0]  # mode, row word and separator are the same for every batch of a set
    results = [LoadResult(cfg.source_system, cfg.table, b.label) for b in batches]
    con.execute(
        "create temp table if not exists _rejected_lines "
        "(line bigint, raw_text varchar, reason varchar)"
    )
    for b, result in zip(batches, results, strict=True):
        result.notes += check_columns(cfg, b)
    _batches_table(con, batches)
    landed = _landed_columns(con)
    sources = [c for c in landed if c not in ("_source_row", "_raw_text", "_batch")]
    batch_col = "_batch" if "_batch" in landed else "0"
    landing = "_landing" if "_batch" in landed else "(select *, 0 as _batch from _landing)"
    # The row as the source had it, for quarantine only: built for rejected rows alone.
    if "_raw_text" in landed:
        raw_text = "l._raw_text"
    else:
        raw_text = (
            f"concat_ws({literal(batch.raw_separator)}, "
            + ", ".join(f"coalesce(l.{quote(c)}::varchar, '')" for c in sources)
            + ")"
        )
    typed, reason = typed_select(cfg, sources, landed)
    contract = cfg.contract
    grain_cols = [c for c in contract.grain if c != "source_system"]
    target = f"{RAW_SCHEMA}.{contract.table}"
    src_lit = literal(cfg.source_system)
    try:
        con.execute(
            f"""
            create or replace temp table _typed as
            select {typed}, _source_row, {batch_col} as _batch, {reason} as _reason
            from _landing
            """
        )
    except duckdb.Error as exc:  # a view over files reads them here
        first_line = str(exc).splitlines()[0][:300]
        raise BatchRejected(f"{batch.label}: cannot be read ({first_line})") from None
    _find_duplicates(con, grain_cols)
    # Only a file can collide with rows it does not own: rows of the same system from a file
    # outside the set, or the old rows of a file later in the set (still there when this one
    # loads, one by one). Earlier files of the set are compared below.
    others = (
        f"select e.*, coalesce(b._batch, -1) as _owner from {target} as e "
        f"left join _batches as b on e.source_file = b.label where e.source_system = {src_lit}"
        if batch.mode == "file"
        else f"select *, -1 as _owner from {target} where false"
    )
    join_on = " and ".join(f"t.{c} = e.{c}" for c in grain_cols)
    if rules is not None:
        rules.install(con)
        rule_joins, semantic = semantic_checks(cfg, rules, rules.today or loaded_at.date())
    else:
        rule_joins, semantic = "", "null"
    payload = [c.name for c in contract.source_columns if c.name not in grain_cols]
    already = (
        f"'grain already loaded from ' || e.source_file || ' {batch.row_word} ' "
        f"|| e.source_row || {_conflict(payload)}"
    )
    # The row's ids, for tracing quarantine to initiatives (null where the table has none).
    names = [c.name for c in contract.source_columns]
    ids = ", ".join(
        f"t.{c}::varchar as {c}" if c in names else f"null::varchar as {c}"
        for c in QUARANTINE_ID_COLUMNS
    )
    # `_bad`: the rows with a problem, one each, with why and their ids; every other row loads
    # (no copy of every row with its reason: 50M rows of Parquet load in 35 s instead of 46 s).
    con.execute(
        f"""
        create or replace temp table _bad as
        select * from (
            select t._batch, t._source_row, {ids},
                coalesce(
                    t._reason,
                    {semantic},
                    case when d._first_row <> t._source_row
                        then 'duplicate of the grain at {batch.row_word} ' || d._first_row end,
                    case when e.source_file is not null then {already} end
                ) as _why
            from _typed as t
            left join _dup_rows as d using (_batch, _source_row)
            left join ({others}) as e
                on {join_on} and (e._owner = -1 or e._owner > t._batch)
            {rule_joins}
        )
        where _why is not null
        """
    )
    if len(batches) > 1:
        _check_across_files(con, grain_cols, already, ids)
    # Each row's file label by its index (a join to `_batches` costs 50M probes: 1.8 s).
    labels = text_list([b.label for b in batches])
    cols = ", ".join(names)
    table_lit = literal(cfg.table)
    no_ids = ", ".join("null" for _ in QUARANTINE_ID_COLUMNS)
    q_cols = "source_system, target_table, source_file, source_row, reason, raw_text, loaded_at, "
    q_cols += ", ".join(QUARANTINE_ID_COLUMNS)
    con.execute("begin transaction")
    try:
        _delete_owned(con, cfg, batch, target, grain_cols)
        inserted = con.execute(
            f"""
            insert into {target} (source_system, {cols}, source_file, source_row, loaded_at)
            select {src_lit}, {", ".join(f"t.{c}" for c in names)},
                ({labels})[t._batch + 1], t._source_row, ?::timestamp
            from _typed as t
            anti join _bad as x on x._batch = t._batch and x._source_row = t._source_row
            """,
            [loaded_at],
        ).fetchone()[0]
        con.execute(
            f"""
            insert into {RAW_SCHEMA}.quarantine ({q_cols})
            select {src_lit}, {table_lit}, b.label, c._source_row, c._why, {raw_text},
                ?::timestamp, {", ".join(f"c.{c}" for c in QUARANTINE_ID_COLUMNS)}
            from _bad as c
            join _batches as b using (_batch)
            left join {landing} as l
                on l._batch = c._batch and l._source_row = c._source_row
            union all
            select {src_lit}, {table_lit}, b.label, line, reason, raw_text, ?::timestamp,
                {no_ids}
            from _rejected_lines, _batches as b where b._batch = 0
            """,
            [loaded_at, loaded_at],
        )
        counts = con.execute(
            """
            select b._batch,
                coalesce(n.landed, 0) + coalesce(r.lines, 0),
                coalesce(n.landed, 0) - coalesce(q.bad, 0),
                coalesce(q.bad, 0) + coalesce(r.lines, 0)
            from _batches as b
            left join (select _batch, count(*) as landed from _typed group by 1) as n
                using (_batch)
            left join (select _batch, count(*) as bad from _bad group by 1) as q using (_batch)
            left join (select 0 as _batch, count(*) as lines from _rejected_lines) as r
                using (_batch)
            order by b._batch
            """
        ).fetchall()
        if sum(c[2] for c in counts) != inserted:  # each row loads or is quarantined, once
            raise RuntimeError(
                f"{batch.label}: {inserted} rows written, counted {sum(c[2] for c in counts)}"
            )
        for (_, *numbers), result in zip(counts, results, strict=True):
            result.rows_read, result.rows_loaded, result.rows_quarantined = numbers
        con.executemany(
            f"insert into {RAW_SCHEMA}.load_log (target_table, source_system, source_file, "
            "file_sha256, rows_read, rows_loaded, rows_quarantined, loaded_at, rules_sha256) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    cfg.table,
                    cfg.source_system,
                    b.label,
                    b.fingerprint,
                    r.rows_read,
                    r.rows_loaded,
                    r.rows_quarantined,
                    loaded_at,
                    rules.fingerprint if rules is not None else None,
                ]
                for b, r in zip(batches, results, strict=True)
            ],
        )
        if in_transaction is not None:
            in_transaction(con)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return results


def _find_duplicates(con, grain_cols: list[str]) -> None:
    """`_dups`: grains on more than one row of the set; `_dup_rows`: their rows, each with the
    first row of its grain in its file (which wins there). Duplicates are rare, so the window
    runs over these rows only, not over every row. The hashes of the grains are sorted first
    and a hash equal to the one before it is repeated (one integer key, no hash table of every
    grain: 16.7M rows, the grain's text 3.0 s, grouped hashes 2.1 s, sorted 1.3 s); only rows
    of repeated hashes are grouped by the grain itself."""
    grain = ", ".join(grain_cols)
    same = " and ".join(f"t.{c} is not distinct from d.{c}" for c in grain_cols)
    con.execute(
        f"""
        create or replace temp table _dups as
        with repeated as (
            select distinct grain_hash from (
                select grain_hash, lag(grain_hash) over (order by grain_hash) as previous
                from (select hash({grain}) as grain_hash from _typed)
            )
            where grain_hash = previous
        )
        select {grain} from _typed
        where hash({grain}) in (select grain_hash from repeated)
        group by {grain} having count(*) > 1
        """
    )
    con.execute(
        f"""
        create or replace temp table _dup_rows as
        select t.*, first_value(t._source_row) over (
            partition by t._batch, {", ".join(f"t.{c}" for c in grain_cols)}
            order by t._source_row
        ) as _first_row
        from _typed as t
        join _dups as d on {same}
        """
    )


def _check_across_files(con, grain_cols: list[str], already: str, ids: str) -> None:
    """A grain that passed every other check in several files of the set: the first file (in
    load order) keeps it, the later ones quarantine it as already loaded from that file.
    Only grains on more than one row (`_dup_rows`) can be in several files."""
    grain = ", ".join(f"c.{c}" for c in grain_cols)
    join_on = " and ".join(f"t.{c} = e.{c}" for c in grain_cols)
    passed = "anti join _bad as x on x._batch = {0}._batch and x._source_row = {0}._source_row"
    con.execute(
        f"""
        insert into _bad
        select t._batch, t._source_row, {ids}, {already}
        from _dup_rows as t
        join (
            select c.*, b.label as source_file, c._source_row as source_row
            from _dup_rows as c
            join _batches as b using (_batch)
            {passed.format("c")}
            qualify row_number() over (partition by {grain} order by c._batch, c._source_row) = 1
        ) as e on {join_on} and e._batch < t._batch
        {passed.format("t")}
        """
    )


def _delete_owned(con, cfg: BaseSource, batch: Batch, target: str, grain_cols: list[str]) -> None:
    quarantine = f"{RAW_SCHEMA}.quarantine"
    if batch.mode == "file":
        con.execute(f"delete from {target} where source_file in (select label from _batches)")
        con.execute(
            f"delete from {quarantine} where target_table = ? "
            "and source_file in (select label from _batches)",
            [cfg.table],
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
            f"delete from {target} using (select * from _typed as t anti join _bad as x "
            "on x._batch = t._batch and x._source_row = t._source_row) as c "
            f"where {target}.source_system = ? and {match}",
            [cfg.source_system],
        )
        # A fetched row supersedes what earlier fetches quarantined for its grain (raw_text is
        # the row as JSON), and a successful fetch outdates an earlier batch-level rejection.
        match = " and ".join(f"{_typed_json(cfg, c, 'q.raw_text')} = c.{c}" for c in grain_cols)
        con.execute(
            f"delete from {quarantine} as q using (select distinct {', '.join(grain_cols)} "
            f"from _typed) as c where q.target_table = ? and q.source_system = ? and {match}",
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
        f"insert into {RAW_SCHEMA}.quarantine (source_system, target_table, source_file, "
        "source_row, reason, raw_text, loaded_at) values (?, ?, ?, null, ?, null, ?)",
        [cfg.source_system, cfg.table, label, message, now_utc()],
    )
