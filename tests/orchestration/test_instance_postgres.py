"""The production instance template stores runs in the real local PostgreSQL server."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from orchestration.settings import REPO_ROOT
from tests.support import PG_DOWN, postgres_up, scratch_database

TEMPLATE = REPO_ROOT / "orchestration" / "instance" / "dagster.postgres.yaml"
pytestmark = pytest.mark.skipif(not postgres_up(), reason=PG_DOWN)


@pytest.fixture
def database():
    with scratch_database("vl_dagster") as name:
        yield name


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
