"""The value report in a real browser: headless Chromium, driven over the DevTools protocol.

Opens the overview and an initiative page of a report built from the full run (`built_home`,
read-only: the report is written to a temporary folder), and checks what a person would see:
no console errors or exceptions, no request leaving the machine, every chart drawn with a
non-zero size, the headline figure large and on the first screen. Screenshots are saved to
VALUELEDGER_SCREENSHOTS (if set) or a temporary folder, printed in the test output.

Chromium: `apt-get install -y chromium` (Debian). Without it the tests skip, saying so.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from assets.reports.html import build_report

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
VIEWPORT = {"width": 1280, "height": 900}
START_TIMEOUT = 30.0
LOAD_TIMEOUT = 30.0


def _chromium() -> str | None:
    given = os.environ.get("VALUELEDGER_CHROMIUM")
    if given:
        return given
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


class DevTools:
    """A minimal Chrome DevTools Protocol client: one websocket, flattened page sessions."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        msg_id = next(self.ids)
        message = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=LOAD_TIMEOUT))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = LOAD_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event
            seen = len(self.events)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.ws.recv(timeout=remaining)))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = _chromium()
    if binary is None:
        pytest.skip(
            "Chromium is not installed (Debian: apt-get install -y chromium); "
            "the browser check of the report is skipped"
        )
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + START_TIMEOUT
    while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{binary} did not start its DevTools endpoint (exit {process.poll()})")
        time.sleep(0.1)
    port, path = port_file.read_text().splitlines()[:2]
    from websockets.sync.client import connect  # websockets comes with dagster

    try:
        with connect(
            f"ws://127.0.0.1:{port}{path}", max_size=64 * 1024 * 1024, open_timeout=START_TIMEOUT
        ) as ws:
            tools = DevTools(ws)
            yield tools
            with contextlib.suppress(Exception):  # closing anyway
                tools.send("Browser.close")
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Wait for the browser we started to exit; terminate it, then kill it, if it does not."""
    for stop in (None, process.terminate, process.kill):
        if stop is not None:
            stop()
        try:
            process.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def report(built_home, tmp_path_factory):
    """The report of the full run, written to a temporary folder (built_home stays as it is)."""
    folder = tmp_path_factory.mktemp("report") / "value_report"
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as con:
        build_report(con, folder, run_id="browser-test")
    return folder


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    given = os.environ.get("VALUELEDGER_SCREENSHOTS")
    folder = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


CHART_PROBE = """
(() => Array.from(document.querySelectorAll('svg.chart')).map(svg => {
    const box = svg.getBoundingClientRect();
    const marks = Array.from(svg.querySelectorAll(
        '.series, .bar, .band, .stage, polyline, polygon, rect, circle, line'));
    const drawn = marks.filter(m => {
        const b = m.getBBox();
        return b.width > 0 || b.height > 0;
    });
    return {
        title: (svg.querySelector('title') || {}).textContent || '',
        empty: svg.classList.contains('chart-empty'),
        width: box.width, height: box.height,
        marks: marks.length, drawn: drawn.length,
        data: svg.querySelectorAll('.series, .bar, .band, .stage').length,
    };
}))()
"""

HEADLINE_PROBE = """
(() => {
    const el = document.getElementById('headline-share');
    if (!el) return null;
    const box = el.getBoundingClientRect();
    return {text: el.textContent.trim(), top: box.top, bottom: box.bottom,
            fontSize: parseFloat(getComputedStyle(el).fontSize)};
})()
"""


def _open(tools: DevTools, url: str) -> tuple[str, str, list[dict]]:
    """Open `url` in a new tab and wait for it to load: (target, session, its events)."""
    target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for domain in ("Page", "Runtime", "Log", "Network"):
        tools.send(f"{domain}.enable", session=session)
    tools.send(
        "Emulation.setDeviceMetricsOverride",
        {**VIEWPORT, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    start = len(tools.events)
    tools.send("Page.navigate", {"url": url}, session=session)
    tools.wait_for("Page.loadEventFired", session)
    time.sleep(0.3)  # late console messages
    tools.send("Runtime.evaluate", {"expression": "1"}, session=session)
    return target, session, [e for e in tools.events[start:] if e.get("sessionId") == session]


def _evaluate(tools: DevTools, session: str, expression: str):
    result = tools.send(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
    )
    assert "exceptionDetails" not in result, result
    return result["result"].get("value")


def _problems(events: list[dict]) -> list[str]:
    problems = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            problems.append(f"console {params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            problems.append(f"exception: {params.get('exceptionDetails')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            problems.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("file:", "data:", "about:")):
                problems.append(f"request leaves the machine: {url}")
        elif method == "Network.loadingFailed":
            problems.append(f"failed to load: {params.get('errorText')}")
    return problems


def _screenshot(tools: DevTools, session: str, path: Path, full_page: bool = False) -> None:
    params: dict = {"format": "png"}
    if full_page:
        size = _evaluate(
            tools,
            session,
            "({w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight})",
        )
        params.update(
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["w"], "height": size["h"], "scale": 1},
        )
    data = tools.send("Page.captureScreenshot", params, session=session)["data"]
    path.write_bytes(base64.b64decode(data))
    assert path.stat().st_size > 10_000, f"{path} looks blank"


def _check_charts(tools: DevTools, session: str, html: str) -> list[dict]:
    found = _evaluate(tools, session, CHART_PROBE)
    assert len(found) == html.count('<svg class="chart'), "a chart is missing from the page"
    for chart in found:
        assert chart["width"] > 100 and chart["height"] > 40, chart
        assert chart["drawn"] > 0, chart
        assert chart["empty"] or chart["data"] > 0, f"nothing plotted: {chart}"
    return found


def test_the_probe_sees_errors_and_requests_that_leave_the_machine(browser, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><title>bad</title><script>console.error('broken')</script>"
        '<img src="http://valueledger.invalid/x.png"><script>null.x</script>'
    )
    target, _, events = _open(browser, page.as_uri())
    problems = " | ".join(_problems(events))
    assert "console error" in problems and "exception" in problems, problems
    assert "request leaves the machine: http://valueledger.invalid/x.png" in problems
    browser.send("Target.closeTarget", {"targetId": target})


def test_overview_renders_with_the_headline_on_the_first_screen(browser, report, screenshots):
    index = report / "index.html"
    target, session, events = _open(browser, index.as_uri())
    assert not _problems(events), _problems(events)
    found = _check_charts(browser, session, index.read_text())
    assert len(found) >= 4 and not [c for c in found if c["empty"]], found
    headline = _evaluate(browser, session, HEADLINE_PROBE)
    assert headline is not None and headline["text"].endswith("%"), headline
    assert headline["bottom"] < VIEWPORT["height"] / 2, "headline below the first half-screen"
    assert headline["fontSize"] >= 40, headline
    _screenshot(browser, session, screenshots / "overview.png")
    _screenshot(browser, session, screenshots / "overview-full.png", full_page=True)
    browser.send("Target.closeTarget", {"targetId": target})


def test_initiative_pages_render_every_chart(browser, report, screenshots):
    pages = sorted((report / "initiatives").glob("*.html"))
    assert pages
    shot = report / "initiatives" / "cs-agent-assist.html"
    for page in pages:
        target, session, events = _open(browser, page.as_uri())
        assert not _problems(events), (page.name, _problems(events))
        _check_charts(browser, session, page.read_text())
        if page == shot:
            _screenshot(browser, session, screenshots / f"initiative-{page.stem}.png")
            _screenshot(
                browser, session, screenshots / f"initiative-{page.stem}-full.png", full_page=True
            )
        browser.send("Target.closeTarget", {"targetId": target})
    assert (screenshots / "initiative-cs-agent-assist.png").exists()
