"""SQL connector against the real local PostgreSQL and MariaDB servers.

Each test gets its own schema (PostgreSQL) or database and user (MariaDB) and drops it after.
A server that does not answer within 2 s skips its tests with the reason. The URL handed to the
connector carries a password, which must never show in errors, logs, results or the warehouse.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from sources.connectors.config import SqlSource
from sources.connectors.cursors import read_cursor
from sources.connectors.errors import SourceConfigError, SourceError
from sources.connectors.run import load_configured_source
from sources.connectors.sql import build_query, load_sql

PASSWORD = "S3cr3t-p@ss:w0rd"
ENV = "WMS_DATABASE_URL"
SERVERS = {
    "postgresql": URL.create(
        "postgresql+psycopg", "postgres", host="127.0.0.1", port=5432, database="test"
    ),
    "mariadb": URL.create("mariadb+pymysql", "root", host="127.0.0.1", port=3306, database="test"),
}
TIMESTAMP = {"postgresql": "timestamp", "mariadb": "datetime(6)"}


@dataclass
class Db:
    backend: str
    schema: str
    url: str  # with the password, as the environment variable would hold it
    admin: object

    def run(self, *statements: str) -> None:
        with self.admin.begin() as conn:
            for sql in statements:
                conn.execute(text(sql.replace("{s}", self.schema)))


def _unreachable(url: URL) -> str | None:
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return None
    except Exception as exc:  # any failure means: no usable server here
        return str(getattr(exc, "orig", exc)).splitlines()[0]
    finally:
        engine.dispose()


@pytest.fixture(params=list(SERVERS))
def db(request):
    backend = request.param
    admin_url = SERVERS[backend]
    reason = _unreachable(admin_url)
    if reason:
        pytest.skip(f"{backend} not reachable at {admin_url.host}:{admin_url.port}: {reason}")
    name = f"vl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, poolclass=NullPool)
    if backend == "postgresql":
        # Trust authentication ignores the password, so the connector's URL can carry one.
        setup = [f"create schema {name}"]
        teardown = [f"drop schema if exists {name} cascade"]
        url = admin_url.set(password=PASSWORD)
    else:
        setup = [
            f"create database {name}",
            f"create user '{name}'@'%' identified by '{PASSWORD}'",
            f"grant all on {name}.* to '{name}'@'%'",
        ]
        teardown = [f"drop database if exists {name}", f"drop user if exists '{name}'@'%'"]
        url = admin_url.set(username=name, password=PASSWORD, database=name)
    database = Db(backend, name, url.render_as_string(hide_password=False), admin)
    database.run(*setup)
    database.run(
        f"create table {{s}}.wms_kpi (id integer primary key, site varchar(20), "
        f"metric varchar(20), day date, hours varchar(20), updated_at {TIMESTAMP[backend]})"
    )
    try:
        yield database
    finally:
        database.run(*teardown)
        admin.dispose()


def _cfg(db: Db, **overrides) -> SqlSource:
    settings = dict(
        kind="sql",
        source_system="wms_db",
        table="kpi_observations",
        url_env=ENV,
        source_table=f"{db.schema}.wms_kpi",
        cursor="updated_at",
        columns={"unit_id": "site", "kpi_id": "metric", "observed_on": "day", "value": "hours"},
        convert={"value": {"multiply": 60}},  # hours in the source, minutes in the contract
        chunk_size=2,  # several chunks even for these few rows
    )
    return SqlSource(**{**settings, **overrides})


def _insert(db: Db, *rows: tuple) -> None:
    db.run(
        *(
            f"insert into {{s}}.wms_kpi values ({i}, '{site}', 'pick', '{day}', '{hours}', '{ts}')"
            for i, site, day, hours, ts in rows
        )
    )


def _kpis(con) -> list[tuple]:
    return con.execute(
        "select unit_id, observed_on::varchar, value from raw.kpi_observations order by all"
    ).fetchall()


def _warehouse_text(con) -> str:
    tables = ["kpi_observations", "quarantine", "load_log", "source_cursors"]
    return repr([con.execute(f"select * from raw.{t}").fetchall() for t in tables])


def test_connector_sql_initial_then_incremental_loads(db, con, caplog):
    caplog.set_level(logging.DEBUG)
    cfg, env = _cfg(db), {ENV: db.url}
    _insert(
        db,
        (1, "wh-01", "2025-01-01", "1.5", "2025-01-01 10:00:00"),
        (2, "wh-01", "2025-01-02", "n/a", "2025-01-02 10:00:00"),
        (3, "wh-02", "2025-01-01", "2", "2025-01-02 11:00:00"),
    )
    first = load_sql(con, cfg, env=env)
    assert (first.rows_read, first.rows_loaded, first.rows_quarantined) == (3, 2, 1)
    label = f"query: select * from {db.schema}.wms_kpi"
    assert first.file == label
    [(source_file, row, reason)] = con.execute(
        "select source_file, source_row, reason from raw.quarantine"
    ).fetchall()
    assert (source_file, row) == (label, 2)
    assert "value 'n/a' is not a number" in reason
    cursor = read_cursor(con, "wms_db", "kpi_observations", "updated_at")
    assert cursor == dt.datetime(2025, 1, 2, 11)

    # Two new rows and the bad one corrected: only those three are fetched.
    _insert(
        db,
        (4, "wh-02", "2025-01-02", "1", "2025-01-03 08:00:00"),
        (5, "wh-03", "2025-01-01", "0.5", "2025-01-03 09:00:00"),
    )
    db.run("update {s}.wms_kpi set hours = '3', updated_at = '2025-01-03 10:00:00' where id = 2")
    second = load_sql(con, cfg, env=env)
    assert (second.rows_read, second.rows_loaded, second.rows_quarantined) == (3, 3, 0)
    assert _kpis(con) == [
        ("wh-01", "2025-01-01", 90.0),
        ("wh-01", "2025-01-02", 180.0),
        ("wh-02", "2025-01-01", 120.0),
        ("wh-02", "2025-01-02", 60.0),
        ("wh-03", "2025-01-01", 30.0),
    ]
    # The corrected row supersedes its quarantine entry; the cursor moved in the same write.
    assert con.execute("select count(*) from raw.quarantine").fetchone() == (0,)
    assert read_cursor(con, "wms_db", "kpi_observations", "updated_at") == dt.datetime(
        2025, 1, 3, 10
    )
    assert any("> 2025-01-02 11:00:00" in n for n in second.notes)

    nothing_new = load_sql(con, cfg, env=env)
    assert nothing_new.rows_read == 0 and len(_kpis(con)) == 5

    for text_seen in (repr([first, second, nothing_new]), _warehouse_text(con), caplog.text):
        assert PASSWORD not in text_seen


def test_connector_sql_late_correction_replaces_the_loaded_row(db, con):
    cfg, env = _cfg(db), {ENV: db.url}
    _insert(
        db,
        (1, "wh-01", "2025-01-01", "1", "2025-01-01 10:00:00"),
        (2, "wh-01", "2025-01-02", "1", "2025-01-01 10:00:00"),
    )
    load_sql(con, cfg, env=env)
    db.run("update {s}.wms_kpi set hours = '2', updated_at = '2025-02-01 00:00:00' where id = 1")
    again = load_sql(con, cfg, env=env)
    assert (again.rows_read, again.rows_loaded) == (1, 1)
    assert _kpis(con) == [("wh-01", "2025-01-01", 120.0), ("wh-01", "2025-01-02", 60.0)]
    log = con.execute("select rows_read, rows_loaded from raw.load_log order by loaded_at")
    assert log.fetchall() == [(2, 2), (1, 1)]


def test_connector_sql_query_with_an_id_cursor(db, con):
    query = (
        f"select id, site as unit_id, metric as kpi_id, day as observed_on, hours as value "
        f"from {db.schema}.wms_kpi where site <> 'wh-99'"
    )
    cfg = _cfg(db, source_table=None, query=query, cursor="id", columns={}, convert={})
    env = {ENV: db.url}
    _insert(
        db,
        (1, "wh-01", "2025-01-01", "1", "2025-01-01"),
        (2, "wh-99", "2025-01-01", "1", "2025-01-01"),
    )
    assert load_sql(con, cfg, env=env).rows_loaded == 1
    _insert(db, (3, "wh-02", "2025-01-01", "4", "2025-01-01"))
    second = load_sql(con, cfg, env=env)
    assert (second.rows_read, second.rows_loaded) == (1, 1)
    assert read_cursor(con, "wms_db", "kpi_observations", "id") == 3
    assert second.file.startswith("query: select id, site as unit_id")


def test_connector_sql_without_cursor_is_a_full_refresh(db, con):
    cfg, env = _cfg(db, cursor=None), {ENV: db.url}
    _insert(
        db,
        (1, "wh-01", "2025-01-01", "1", "2025-01-01"),
        (2, "wh-02", "2025-01-01", "1", "2025-01-01"),
    )
    load_sql(con, cfg, env=env)
    db.run("delete from {s}.wms_kpi where id = 2")
    load_sql(con, cfg, env=env)
    assert _kpis(con) == [("wh-01", "2025-01-01", 60.0)]


def test_connector_sql_failed_query_names_the_source_and_host(db, con):
    cfg = _cfg(db, source_table=f"{db.schema}.no_such_table")
    [result] = load_configured_source(con, cfg, root=None, env={ENV: db.url})
    assert result.error.startswith("source 'wms_db': cannot run the query on ")
    assert "127.0.0.1:" in result.error and PASSWORD not in result.error
    assert _kpis(con) == []


def test_connector_sql_missing_required_column_is_recorded(db, con):
    cfg = _cfg(db, columns={"unit_id": "site", "kpi_id": "metric", "observed_on": "day"})
    [result] = load_configured_source(con, cfg, root=None, env={ENV: db.url})
    assert "missing required column(s) value" in result.error
    quarantined = con.execute("select source_file, source_row, reason from raw.quarantine")
    assert quarantined.fetchall() == [(result.file, None, result.error)]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("driver", ["postgresql+psycopg", "mariadb+pymysql"])
def test_connector_sql_server_down_is_a_clear_error(con, driver, caplog):
    port = _closed_port()
    url = URL.create(driver, "loader", PASSWORD, "127.0.0.1", port, "wms")
    cfg = SqlSource(
        kind="sql",
        source_system="wms_db",
        table="kpi_observations",
        url_env=ENV,
        source_table="kpi",
        connect_timeout_s=2,
    )
    with pytest.raises(SourceError) as raised:
        load_sql(con, cfg, env={ENV: url.render_as_string(hide_password=False)})
    message = str(raised.value)
    assert message.startswith("source 'wms_db': cannot connect to ")
    assert f"127.0.0.1:{port}/wms" in message
    assert PASSWORD not in message and PASSWORD not in caplog.text
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_connector_sql_missing_env_var_is_named(con):
    cfg = SqlSource(
        kind="sql",
        source_system="wms_db",
        table="kpi_observations",
        url_env=ENV,
        source_table="kpi",
    )
    with pytest.raises(SourceConfigError, match=f"environment variable {ENV} is not set"):
        load_sql(con, cfg, env={})
    [result] = load_configured_source(con, cfg, root=None, env={ENV: "not a url"})
    assert f"{ENV} does not hold a valid SQLAlchemy URL" in result.error


def test_connector_sql_incremental_query_is_ordered_and_bound():
    cfg = SqlSource(
        kind="sql",
        source_system="s",
        table="adoption",
        url_env="U",
        query="select * from t where x = 1;",
        cursor="updated_at",
    )
    quote = lambda name: f'"{name}"'  # noqa: E731
    assert build_query(cfg, quote, incremental=False) == (
        'select * from (select * from t where x = 1) as src order by src."updated_at"'
    )
    assert build_query(cfg, quote, incremental=True) == (
        'select * from (select * from t where x = 1) as src where src."updated_at" > :cursor '
        'order by src."updated_at"'
    )
