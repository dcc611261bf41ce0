"""Opt-in: the same dbt project through dbt-spark (session mode) gives the same marts as DuckDB.

Run with `make test-spark` (installs dbt-spark[session] with pyspark; Java 17 must be present).
The raw schema of a full DuckDB run is exported to Parquet, registered as Spark tables, and
`dbt build --target spark` runs in this process against a local Spark session.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from assets.reports.publishing import list_tables
from orchestration.settings import DBT_PROJECT_DIR
from tests.support import assert_same_rows, ordered_select

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark_and_duck(built_home, tmp_path_factory):
    pytest.importorskip("pyspark", reason="install dbt-spark[session] (make test-spark)")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed")
    from dbt.cli.main import dbtRunner
    from pyspark.sql import SparkSession

    tmp = tmp_path_factory.mktemp("spark")
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("valueledger-parity")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(tmp / "warehouse"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={tmp}")
        .enableHiveSupport()
        .getOrCreate()
    )
    duck = duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True)
    # Every schema dbt reads from: evidence and registry (raw), evidence gate results (quality).
    for schema, table in list_tables(duck, ("raw", "quality")):
        spark.sql(f"create database if not exists {schema}")
        path = tmp / schema / f"{table}.parquet"
        path.parent.mkdir(exist_ok=True)
        duck.execute(f"copy {schema}.{table} to '{path}' (format parquet)")
        spark.sql(f"create table {schema}.{table} using parquet as select * from parquet.`{path}`")
    result = dbtRunner().invoke(
        [
            "build",
            "--target",
            "spark",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp / "target"),
            "--log-path",
            str(tmp / "logs"),
        ]
    )
    assert result.success, f"dbt build on Spark failed: {result.exception}"
    manifest = json.loads((tmp / "target" / "manifest.json").read_text())
    disabled = {node["name"] for nodes in manifest["disabled"].values() for node in nodes}
    yield spark, duck, disabled
    duck.close()
    spark.stop()


def test_every_mart_matches(spark_and_duck):
    spark, duck, disabled = spark_and_duck
    # Snapshots need a Delta/Hudi table format (merge), which plain local Spark lacks: the
    # goalpost audit and the models on it are disabled there (docs/scaling.md).
    assert disabled, "expected the snapshot-based models to be disabled on Spark"
    for schema, table in list_tables(duck, ("marts", "reports")):
        if table in disabled:
            continue
        columns = [r[0] for r in duck.execute(f"describe {schema}.{table}").fetchall()]
        left = duck.execute(ordered_select(schema, table, columns)).fetchall()
        right = [tuple(r) for r in spark.sql(ordered_select(schema, table, columns, "`")).collect()]
        assert_same_rows(f"{schema}.{table}", columns, left, right)
