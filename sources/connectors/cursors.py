"""The incremental cursor of a source: the highest cursor value loaded, kept in the warehouse.

Values keep their type through a text round trip (an int stays an int, a timestamp a timestamp)
so the next fetch binds a parameter the database compares natively.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb

from sources.connectors.batch import now_utc
from sources.contracts import RAW_SCHEMA

CursorValue = int | float | Decimal | dt.datetime | dt.date | str


def encode_cursor(value: CursorValue) -> tuple[str, str]:
    """(text, type) for raw.source_cursors."""
    if isinstance(value, bool):
        raise TypeError("a boolean cannot be an incremental cursor")
    if isinstance(value, int):
        return str(value), "int"
    if isinstance(value, Decimal):
        return str(value), "decimal"
    if isinstance(value, float):
        return repr(value), "float"
    if isinstance(value, dt.datetime):  # before date: a datetime is a date too
        return value.isoformat(), "datetime"
    if isinstance(value, dt.date):
        return value.isoformat(), "date"
    return str(value), "str"


def decode_cursor(text: str, kind: str) -> CursorValue:
    decoders = {
        "int": int,
        "decimal": Decimal,
        "float": float,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "str": str,
    }
    return decoders[kind](text)


def read_cursor(
    con: duckdb.DuckDBPyConnection, source_system: str, table: str, column: str
) -> CursorValue | None:
    """The last value loaded for this source and cursor column (None: load everything)."""
    row = con.execute(
        f"select cursor_value, cursor_type from {RAW_SCHEMA}.source_cursors "
        "where source_system = ? and target_table = ? and cursor_column = ?",
        [source_system, table, column],
    ).fetchone()
    return decode_cursor(*row) if row else None


def write_cursor(
    con: duckdb.DuckDBPyConnection, source_system: str, table: str, column: str, value
) -> None:
    """Replace the source's cursor; runs inside the transaction that writes its rows."""
    text, kind = encode_cursor(value)
    con.execute(
        f"delete from {RAW_SCHEMA}.source_cursors where source_system = ? and target_table = ?",
        [source_system, table],
    )
    con.execute(
        f"insert into {RAW_SCHEMA}.source_cursors values (?, ?, ?, ?, ?, ?)",
        [source_system, table, column, text, kind, now_utc()],
    )


def reset_cursor(con: duckdb.DuckDBPyConnection, source_system: str) -> None:
    """Forget the cursor: the next load fetches everything again (a full re-sync)."""
    con.execute(f"delete from {RAW_SCHEMA}.source_cursors where source_system = ?", [source_system])
