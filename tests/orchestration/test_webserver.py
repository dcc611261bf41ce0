"""`dagster-webserver` (what `dagster dev` serves) loads the code location and shows lineage."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

QUERY = """
{ assetNodes { assetKey { path } dependencyKeys { path } isPartitioned } }
"""
AUTOMATION = """
{ repositoriesOrError { ... on RepositoryConnection {
    nodes { schedules { name cronSchedule } sensors { name } } } } }
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_webserver_serves_the_asset_graph_schedules_and_sensors(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "VALUELEDGER_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-w",
            str(REPO / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300  # loading the code location imports dbt
        nodes = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                data = _graphql(port, QUERY)
                nodes = (data.get("data") or {}).get("assetNodes")
                if nodes:
                    break
            except OSError:
                pass
            time.sleep(1)
        if not nodes:
            stderr = proc.stderr.read1(4000) if proc.poll() is not None else "still starting"
            pytest.fail(f"webserver did not serve the asset graph: {stderr}")
        deps = {
            "/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]}
            for n in nodes
        }
        assert "landing/contact_centre" in deps["evidence/kpi_observations"]
        assert "evidence/kpi_observations" in deps["staging/stg_evidence__kpi_observations"]
        assert "reports/rpt_initiative_summary" in deps["portfolio_summary"]
        partitioned = {"/".join(n["assetKey"]["path"]) for n in nodes if n["isPartitioned"]}
        assert partitioned == {"evidence/kpi_observations"}

        (repo,) = _graphql(port, AUTOMATION)["data"]["repositoriesOrError"]["nodes"]
        schedules = {s["name"]: s["cronSchedule"] for s in repo["schedules"]}
        assert set(schedules) == {"daily_refresh", "monthly_finance_close"}
        sensors = {s["name"] for s in repo["sensors"]}
        assert {"new_landed_files", "alert_on_run_failure"} <= sensors
    finally:
        proc.terminate()
        proc.wait(timeout=30)
