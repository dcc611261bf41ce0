"""A partition run builds only its months when the warehouse's last full dbt build used the
same dbt project; after a change of the project (or with no full build on record) it builds in
full, since the incremental tables hold rows of the old project."""

from __future__ import annotations

import shutil

from assets.dbt_models import last_full_build, months_to_build, record_full_build
from orchestration.dbt import project_fingerprint
from orchestration.resources import Warehouse
from orchestration.settings import DBT_PROJECT_DIR

MONTHS = ["2025-06-01"]


def test_a_partition_run_builds_its_months_only_on_the_project_of_the_last_full_build():
    assert months_to_build(MONTHS, "abc", "abc") == (MONTHS, None)
    months, reason = months_to_build(MONTHS, "abc", "def")
    assert months is None and "dbt project or DuckDB changed" in reason
    months, reason = months_to_build(MONTHS, None, "def")
    assert months is None and "no full dbt build" in reason
    # A full build stays one, whatever is on record.
    assert months_to_build(None, "abc", "abc") == (None, None)


def test_the_warehouse_keeps_the_latest_full_build(tmp_path):
    warehouse = Warehouse(path=str(tmp_path / "w.duckdb"))
    assert last_full_build(warehouse) is None  # a warehouse from before the record
    record_full_build(warehouse, "run-1", "first")
    record_full_build(warehouse, "run-2", "second")
    assert last_full_build(warehouse) == "second"


def test_the_fingerprint_follows_what_the_project_builds(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    before = project_fingerprint(project)
    assert before == project_fingerprint(DBT_PROJECT_DIR)
    # Where dbt writes to does not change what it builds.
    (project / "profiles.yml").write_text("# another profile\n")
    assert project_fingerprint(project) == before
    model = project / "models" / "intermediate" / "int_changes_measured_naive.sql"
    model.write_text(model.read_text() + "\n-- a changed model\n")
    changed = project_fingerprint(project)
    assert changed != before
    macro = next((project / "macros").glob("*.sql"))
    macro.write_text(macro.read_text() + "\n")
    assert project_fingerprint(project) not in (before, changed)
    # Another DuckDB may hash the ids into other integer keys (macros/integer_key.sql).
    assert project_fingerprint(project, engine_version="0.0.0") != project_fingerprint(project)
