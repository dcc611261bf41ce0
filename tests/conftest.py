"""Shared fixtures: one whole-job run, reused by every test that reads its warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VALUELEDGER_HOME after a full `valueledger run` on the sample sources.

    `make test` runs the job first and passes its folder in VALUELEDGER_TEST_HOME; run alone,
    the fixture runs the job itself (about 40 s).
    """
    given = os.environ.get("VALUELEDGER_TEST_HOME")
    if given:
        return Path(given)
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "VALUELEDGER_HOME": str(home)}
    for var in ("VALUELEDGER_WAREHOUSE", "VALUELEDGER_SOURCES", "VALUELEDGER_REPORTS"):
        env.pop(var, None)
    subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run"],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return home
