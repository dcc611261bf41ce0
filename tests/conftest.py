"""Shared fixtures: one whole-job run, reused by every test that reads its warehouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
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


@dataclass
class WebhookReceiver:
    url: str  # http://127.0.0.1:<port>/hook
    received: list[tuple[str, dict]] = field(default_factory=list)  # (path, JSON body)


@pytest.fixture
def webhook_receiver():
    """A local HTTP server that records every JSON POST, as an alert webhook would get it."""
    received: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield WebhookReceiver(f"http://127.0.0.1:{server.server_address[1]}/hook", received)
    server.shutdown()
