"""The benchmark prepares the dbt manifest as a deployment does: for the home its runs use, so
their dbt commands reuse it (partial parse) instead of parsing the project again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from orchestration.settings import DBT_PROJECT_DIR, get_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import scale  # noqa: E402  (bench/ is scripts, not a package)


@pytest.mark.slow
def test_a_manifest_prepared_for_a_home_is_reused_by_its_runs(tmp_path):
    data, home = tmp_path / "data", tmp_path / "home"
    env = scale.cli_env(data, home)
    prepared = subprocess.run(
        [sys.executable, "-c", scale.PREPARE_MANIFEST], env=env, capture_output=True, text=True
    )
    assert prepared.returncode == 0, prepared.stderr[-2000:]
    # What the run's dbt gets from these settings: that home's warehouse and the target.
    with mock.patch.dict(os.environ, env, clear=True):
        settings = get_settings()
    env.update(settings.dbt_env())
    command = ["dbt", "--debug", "--log-format", "text", "ls", "--target", settings.dbt_target]
    listed = subprocess.run(
        [*command, "--select", "stg_portfolio__kpis"],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stdout[-2000:]
    assert "Unable to do partial parsing" not in listed.stdout
    assert "skipping partial parsing" in listed.stdout  # nothing changed since the prepare
