"""No secret reaches the run's logs or asset metadata, whatever the sources do.

The evidence asset runs against a REST API that echoes the token back in its errors and a
database URL whose server is down; the token and the password must appear nowhere in the
Dagster event log (messages, metadata) of the run.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from assets.ingest.evidence import evidence_files, kpi_observations
from orchestration.partitions import whole_range_tags
from orchestration.resources import Inputs, Warehouse
from tests.conftest import REPO

TOKEN = "tok-3f9a1c77e2b54d"
PASSWORD = "pw-8c1d0b9e55aa"


class _EchoingApi(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"error": f"bad token {self.headers.get('Authorization')}"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = HTTPServer(("127.0.0.1", 0), _EchoingApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_no_secret_in_logs_or_metadata(api, tmp_path, monkeypatch):
    monkeypatch.setenv("VL_TEST_API_TOKEN", TOKEN)
    monkeypatch.setenv("VL_TEST_DB_URL", f"postgresql+psycopg://loader:{PASSWORD}@127.0.0.1:9/wms")
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"""
sources:
  - source_system: crm_api
    kind: rest
    table: adoption
    url: {api}/usage?api_key={TOKEN}
    token_env: VL_TEST_API_TOKEN
    records: items
    max_attempts: 1
  - source_system: wms_db
    kind: sql
    table: kpi_observations
    url_env: VL_TEST_DB_URL
    source_table: wms.pick_kpis
    connect_timeout_s: 2
"""
    )
    inputs = Inputs(
        registry_path=str(REPO / "sources" / "portfolio" / "portfolio.yaml"),
        sources_config=str(config),
        sources_dir=str(tmp_path / "landing"),
        reports_dir=str(tmp_path / "reports"),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [evidence_files, kpi_observations],
            instance=instance,
            tags=whole_range_tags(),
            resources={"warehouse": Warehouse(path=str(tmp_path / "w.duckdb")), "inputs": inputs},
        )
        assert result.success
        events = instance.all_logs(result.run_id)
    text = "\n".join(
        (e.user_message or "")
        + json.dumps(
            {
                k: str(v)
                for k, v in (
                    e.asset_materialization.metadata.items() if e.asset_materialization else []
                )
            }
        )
        for e in events
    )
    assert "401" in text and "127.0.0.1:9" in text, "both failures were reported"
    assert TOKEN not in text
    assert PASSWORD not in text
