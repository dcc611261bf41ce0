"""Fixtures shared by the connector tests."""

from __future__ import annotations

import duckdb
import pytest

from sources.files import ensure_raw_schema


@pytest.fixture
def con():
    """An in-memory warehouse with the raw schema (evidence, quarantine, load_log)."""
    con = duckdb.connect()
    ensure_raw_schema(con)
    yield con
    con.close()
