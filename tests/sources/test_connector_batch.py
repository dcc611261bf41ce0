"""The shared validation path with Arrow batches, cursors and secret handling."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from sources.connectors.config import SqlSource
from sources.connectors.cursors import decode_cursor, encode_cursor
from sources.connectors.errors import BatchRejected
from sources.connectors.landing import load_arrow, rows_to_arrow
from sources.connectors.secrets import redact, safe_url

CFG = SqlSource(
    kind="sql",
    source_system="erp_db",
    table="ai_costs",
    url_env="ERP_URL",
    source_table="costs",
    columns={"initiative_id": "project", "cost_month": "month", "cost_category": "category"},
)
LABEL = "query: select * from costs"


def _costs(con) -> list[tuple]:
    return con.execute(
        "select initiative_id, cost_month::varchar, amount, source_row from raw.ai_costs "
        "order by all"
    ).fetchall()


def _chunk(*rows) -> pa.Table:
    names = ["project", "month", "category", "amount", "currency"]
    return rows_to_arrow(names, list(rows))


def test_connector_batch_arrow_chunks_number_rows_across_chunks(con):
    chunks = [
        _chunk(("p1", dt.date(2025, 1, 1), "cloud", Decimal("10.50"), "EUR")),
        _chunk(
            ("p1", dt.date(2025, 2, 1), "cloud", "lots", "EUR"),
            ("p2", dt.date(2025, 1, 1), "cloud", 3, "EUR"),
        ),
    ]
    result = load_arrow(con, CFG, LABEL, iter(chunks))
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert _costs(con) == [("p1", "2025-01-01", 10.5, 1), ("p2", "2025-01-01", 3.0, 3)]
    [(row, reason, raw)] = con.execute(
        "select source_row, reason, raw_text from raw.quarantine"
    ).fetchall()
    assert row == 2 and reason.startswith("amount 'lots' is not a number")
    assert '"amount":"lots"' in raw


def test_connector_batch_refresh_and_upsert(con):
    first = [
        _chunk(("p1", "2025-01-01", "cloud", 1, "EUR"), ("p2", "2025-01-01", "cloud", 2, "EUR"))
    ]
    load_arrow(con, CFG, LABEL, iter(first), mode="refresh")
    # An upsert replaces the re-fetched grain and keeps the rest.
    load_arrow(
        con, CFG, LABEL, iter([_chunk(("p1", "2025-01-01", "cloud", 5, "EUR"))]), mode="upsert"
    )
    assert _costs(con) == [("p1", "2025-01-01", 5.0, 1), ("p2", "2025-01-01", 2.0, 2)]
    # A refresh replaces everything the source system had.
    load_arrow(con, CFG, LABEL, iter([_chunk(("p3", "2025-01-01", "cloud", 7, "EUR"))]))
    assert _costs(con) == [("p3", "2025-01-01", 7.0, 1)]


def test_connector_batch_empty_fetch_and_bad_names(con):
    result = load_arrow(con, CFG, LABEL, iter([_chunk()]))
    assert result.rows_read == 0
    with pytest.raises(BatchRejected, match="appear twice or are reserved"):
        load_arrow(con, CFG, LABEL, iter([rows_to_arrow(["a", "a"], [])]))
    with pytest.raises(
        BatchRejected,
        match=r"missing required column\(s\) category \(mapped to cost_category\), amount",
    ):
        load_arrow(con, CFG, LABEL, iter([rows_to_arrow(["project", "month"], [])]))


def test_connector_batch_failed_write_leaves_the_warehouse_unchanged(con):
    load_arrow(con, CFG, LABEL, iter([_chunk(("p1", "2025-01-01", "cloud", 1, "EUR"))]))

    def boom(_con):
        raise RuntimeError("cursor store failed")

    with pytest.raises(RuntimeError):
        load_arrow(
            con,
            CFG,
            LABEL,
            iter([_chunk(("p9", "2025-01-01", "cloud", 1, "EUR"))]),
            in_transaction=boom,
        )
    assert _costs(con) == [("p1", "2025-01-01", 1.0, 1)]
    assert con.execute("select count(*) from raw.load_log").fetchone() == (1,)


@pytest.mark.parametrize(
    "value",
    [
        42,
        Decimal("10.250"),
        1.5,
        dt.datetime(2025, 1, 2, 3, 4, 5, 6),
        dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
        dt.date(2025, 1, 2),
        "A-17",
    ],
)
def test_connector_batch_cursor_values_round_trip(value):
    decoded = decode_cursor(*encode_cursor(value))
    assert decoded == value and type(decoded) is type(value)


def test_connector_batch_secrets_are_masked():
    assert redact("user:p@ss w0rd@host and p%40ss+w0rd", ["p@ss w0rd"]) == "user:***@host and ***"
    assert safe_url("https://u:pw@h.example:8443/a?token=t&x=1") == (
        "https://h.example:8443/a?token=***&x=1"
    )
