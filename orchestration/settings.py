"""The one place that decides the environment.

VALUELEDGER_ENV selects it (default `dev`); the dbt target, warehouse path and folders derive from
it. `dev` writes only below the project's data folder, never to shared storage.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
ENVIRONMENTS = ("dev", "postgres", "spark")


@dataclass(frozen=True)
class Settings:
    env: str
    home: Path
    warehouse_path: Path
    sources_dir: Path
    registry_path: Path
    sources_config: Path
    reports_dir: Path
    # Parsed inputs kept between runs: the validated registry (sources/portfolio/registry.py).
    cache_dir: Path

    @property
    def dbt_target(self) -> str:
        return self.env

    def dbt_env(self) -> dict[str, str]:
        """Environment variables the dbt profile reads."""
        return {"VALUELEDGER_WAREHOUSE": str(self.warehouse_path)}


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def get_settings() -> Settings:
    env = os.environ.get("VALUELEDGER_ENV", "dev")
    if env not in ENVIRONMENTS:
        raise ValueError(
            f"VALUELEDGER_ENV={env!r} is not an environment; use one of {', '.join(ENVIRONMENTS)}"
        )
    home = _path("VALUELEDGER_HOME", REPO_ROOT / "data")
    return Settings(
        env=env,
        home=home,
        warehouse_path=_path("VALUELEDGER_WAREHOUSE", home / "warehouse.duckdb"),
        sources_dir=_path("VALUELEDGER_SOURCES", home / "sources"),
        registry_path=_path(
            "VALUELEDGER_REGISTRY", REPO_ROOT / "sources" / "portfolio" / "portfolio.yaml"
        ),
        sources_config=_path("VALUELEDGER_SOURCES_CONFIG", REPO_ROOT / "sources" / "sources.yaml"),
        reports_dir=_path("VALUELEDGER_REPORTS", home / "reports"),
        cache_dir=_path("VALUELEDGER_CACHE", home / "cache"),
    )


def apply_to_environ(settings: Settings) -> None:
    """Export the derived paths so dbt sees the same warehouse (the profile reads them).

    The interpreter's own bin folder goes first on PATH: preparing the manifest runs `dbt parse`
    as a subprocess (dagster-dbt's preparer), which must be this environment's dbt even when the
    venv is not activated.
    """
    os.environ.update(settings.dbt_env())
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
