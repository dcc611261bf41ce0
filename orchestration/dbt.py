"""The dbt project as Dagster sees it, and keeping its manifest current cheaply."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR, get_settings

DBT_INPUTS = ("models", "macros", "tests", "snapshots", "seeds", "analyses")


def make_dbt_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, target=get_settings().dbt_target)


def project_files(project_dir: Path = DBT_PROJECT_DIR) -> list[Path]:
    """The files that define what the dbt project builds (profiles.yml only says where)."""
    files = [project_dir / "dbt_project.yml"]
    for folder in DBT_INPUTS:
        files += sorted(p for p in (project_dir / folder).rglob("*") if p.is_file())
    return [p for p in files if p.exists()]


def project_fingerprint(
    project_dir: Path = DBT_PROJECT_DIR, engine_version: str = duckdb.__version__
) -> str:
    """A hash of the project's files and of DuckDB's version: equal fingerprints build the same
    models the same way. The version counts because the integer keys the tables hold are
    DuckDB's hash of the ids (macros/integer_key.sql), which another version may compute
    otherwise: its partition run would join new keys to rows holding old ones."""
    digest = hashlib.sha256()
    digest.update(f"duckdb {engine_version}\0".encode())
    for path in project_files(project_dir):
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def manifest_is_stale(project: DbtProject) -> bool:
    """True when any dbt source file is newer than the manifest (or there is none)."""
    manifest = Path(project.manifest_path)
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    files = [*project_files(), DBT_PROJECT_DIR / "profiles.yml"]
    return any(p.exists() and p.stat().st_mtime > built for p in files)


def ensure_manifest(project: DbtProject) -> None:
    """Parse only when the project changed: dbt parse costs seconds on every run otherwise."""
    if manifest_is_stale(project):
        project.preparer.prepare(project)
