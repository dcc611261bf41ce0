"""Source configuration of every kind: the example file, defaults and readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sources.connectors.config import (
    CursorPagination,
    RestSource,
    SourceConfig,
    SqlSource,
    load_sources_config,
    parse_sources,
)
from sources.connectors.errors import SourceConfigError

SOURCES = Path(__file__).parents[2] / "sources"


def test_connector_config_example_file_has_every_kind():
    configs = load_sources_config(SOURCES / "sources.example.yaml")
    assert [c.kind for c in configs] == ["file", "sql", "rest"]
    file, sql, rest = configs
    assert isinstance(file, SourceConfig) and file.convert["value"].multiply == 60
    assert isinstance(sql, SqlSource) and sql.cursor == "updated_at"
    assert isinstance(rest, RestSource) and isinstance(rest.pagination, CursorPagination)
    assert rest.columns["unit_id"] == "team.id"


def test_connector_config_default_sources_need_no_server():
    configs = load_sources_config(SOURCES / "sources.yaml")
    assert configs and {c.kind for c in configs} == {"file"}


def _error(entry: dict) -> str:
    with pytest.raises(SourceConfigError) as raised:
        parse_sources({"sources": [entry]}, "s.yaml")
    return str(raised.value)


BASE = {"source_system": "x", "table": "adoption"}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({**BASE, "kind": "ftp"}, "unknown kind 'ftp'; expected one of ['file', 'sql', 'rest']"),
        ({**BASE, "kind": "sql", "url_env": "U"}, "give exactly one of 'query' or 'source_table'"),
        ({**BASE, "kind": "sql", "url_env": "my url", "query": "q"}, "field 'url_env'"),
        (
            {**BASE, "kind": "sql", "url_env": "U", "query": "q", "password": "p"},
            "field 'password'",
        ),
        ({**BASE, "kind": "rest", "url": "ftp://a"}, "field 'url'"),
        (
            {**BASE, "kind": "rest", "url": "https://a", "pagination": {"style": "pages"}},
            "field 'pagination'",
        ),
        (
            {**BASE, "format": "csv", "path": "a", "convert": {"active_users": {"multiply": 2}}},
            "convert applies to decimal columns only, not ['active_users']",
        ),
        ({**BASE, "format": "xml", "path": "a"}, "invalid source entry 'x', field 'format'"),
    ],
)
def test_connector_config_errors_are_readable(entry, expected):
    assert expected in _error(entry)


def test_connector_config_sql_and_rest_own_their_source_system():
    entries = [
        {**BASE, "format": "csv", "path": "a"},
        {**BASE, "kind": "rest", "url": "https://a.example/x"},
    ]
    with pytest.raises(SourceConfigError, match="a rest source must have a source_system of its"):
        parse_sources({"sources": entries}, "s.yaml")


def test_connector_config_kind_defaults_to_file_and_pagination_to_none():
    [file, rest] = parse_sources(
        {
            "sources": [
                {**BASE, "format": "csv", "path": "a"},
                {"source_system": "y", "table": "adoption", "kind": "rest", "url": "https://a/x"},
            ]
        },
        "s.yaml",
    )
    assert file.kind == "file" and rest.pagination.style == "none" and rest.token_env is None
    assert parse_sources(None, "empty.yaml") == []
