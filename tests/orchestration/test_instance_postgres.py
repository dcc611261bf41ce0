"""The production instance template stores runs in the real local PostgreSQL server."""

from __future__ import annotations

import shutil
import socket
import uuid

import dagster as dg
import pytest

from orchestration.settings import REPO_ROOT

TEMPLATE = REPO_ROOT / "orchestration" / "instance" / "dagster.postgres.yaml"
PG = ("127.0.0.1", 5432)


def _pg_up() -> bool:
    try:
        with socket.create_connection(PG, timeout=1):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _pg_up(), reason="PostgreSQL is not running on 127.0.0.1:5432")


@pytest.fixture
def database():
    import psycopg

    name = f"vl_dagster_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as con:
        con.execute(f"create database {name}")
    yield name
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as con:
        con.execute(f"drop database {name} with (force)")


@dg.op
def hello():
    return 1


@dg.job
def tiny():
    hello()


def test_runs_are_stored_in_postgres(tmp_path, monkeypatch, database):
    import psycopg

    shutil.copy(TEMPLATE, tmp_path / "dagster.yaml")
    for var, value in {
        "VALUELEDGER_DAGSTER_PG_HOST": "127.0.0.1",
        "VALUELEDGER_DAGSTER_PG_PORT": "5432",
        "VALUELEDGER_DAGSTER_PG_USER": "postgres",
        "VALUELEDGER_DAGSTER_PG_PASSWORD": "",
        "VALUELEDGER_DAGSTER_PG_DB": database,
    }.items():
        monkeypatch.setenv(var, value)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        result = tiny.execute_in_process(instance=instance)
        assert result.success
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}") as con:
        stored = con.execute("select run_id, status from runs").fetchall()
    assert stored == [(result.run_id, "SUCCESS")]
