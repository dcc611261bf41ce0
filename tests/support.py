"""What several test modules share: the local servers, and comparing tables across engines."""

from __future__ import annotations

import math
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN = f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres"
PG_DOWN = f"PostgreSQL is not running on {PG_HOST}:{PG_PORT}"


def server_up(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_up() -> bool:
    return server_up(PG_PORT, PG_HOST)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database for one test (module), dropped afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f"create database {name}")
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f"drop database {name} with (force)")


def ordered_select(schema: str, table: str, columns: Sequence[str], quote: str = '"') -> str:
    """Keys lead every mart's column list, so ordering by all columns pairs the rows.

    `quote` is the engine's identifier quote (Spark SQL: a backtick).
    """
    select = ", ".join(f"{quote}{c}{quote}" for c in columns)
    order = ", ".join(str(i + 1) for i in range(len(columns)))
    return f"select {select} from {schema}.{table} order by {order}"


def same_cell(a, b) -> bool:
    """Equal, with floats equal to 1e-9 relative (NULL only equals NULL, NaN only NaN)."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def assert_same_rows(label: str, columns: Sequence[str], left: list, right: list) -> None:
    assert len(left) == len(right), f"{label}: row counts differ ({len(left)} != {len(right)})"
    for n, (l_row, r_row) in enumerate(zip(left, right, strict=True)):
        for column, lv, rv in zip(columns, l_row, r_row, strict=True):
            assert same_cell(lv, rv), f"{label} row {n} {column}: {lv!r} != {rv!r}"
