"""REST connector against a real HTTP server on 127.0.0.1 that each test scripts.

Retries sleep through an injected function that records the delays instead of waiting.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from sources.connectors.config import RestSource
from sources.connectors.errors import SourceConfigError, SourceError
from sources.connectors.rest import (
    load_rest,
    next_url,
    parse_link_header,
    parse_retry_after,
    retry_delay,
    url_label,
)
from sources.connectors.run import load_configured_source

TOKEN = "tok-9f8e7d6c5b4a"
ENV = {"CRM_TOKEN": TOKEN}
RECORDS = [
    {"site": f"st-{i:02d}", "kpi": "nps", "day": "2025-01-0" + str(i), "score": 40 + i}
    for i in range(1, 6)
]
Route = Callable[[dict, dict], tuple[int, dict, bytes]]


class Api:
    """A JSON API whose answers each test scripts: path -> route(query, headers)."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict, dict]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                query, headers = dict(parse_qsl(parts.query)), dict(self.headers.items())
                api.requests.append((parts.path, query, headers))
                status, extra, body = api.routes[parts.path](query, headers)
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **extra}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = Api()
    yield server
    server.close()


def _ok(body, headers=None) -> tuple[int, dict, bytes]:
    return 200, headers or {}, json.dumps(body).encode()


def _cfg(api: Api, path: str, **overrides) -> RestSource:
    settings = dict(
        kind="rest",
        source_system="crm",
        table="kpi_observations",
        url=api.url(path),
        token_env="CRM_TOKEN",
        records="data",
        columns={"unit_id": "site", "kpi_id": "kpi", "observed_on": "day", "value": "score"},
        backoff_s=0.5,
        max_backoff_s=5,
        max_attempts=3,
        timeout_s=5,
    )
    return RestSource(**{**settings, **overrides})


def _units(con) -> list[str]:
    return [
        r[0] for r in con.execute("select unit_id from raw.kpi_observations order by 1").fetchall()
    ]


def _paged(records, size_key, position) -> Route:
    def route(query, headers):
        size = int(query[size_key])
        start = position(query, size)
        return _ok({"data": records[start : start + size]})

    return route


@pytest.mark.parametrize(
    ("n", "pages"),
    [(5, ["1", "2", "3"]), (4, ["1", "2", "3"]), (0, ["1"])],
    ids=["short-last-page", "exact-last-page", "empty-first-page"],
)
def test_connector_rest_page_numbers(api, con, n, pages):
    api.routes["/kpis"] = _paged(RECORDS[:n], "per_page", lambda q, s: (int(q["page"]) - 1) * s)
    cfg = _cfg(api, "/kpis", pagination={"style": "page", "size_param": "per_page", "page_size": 2})
    result = load_rest(con, cfg, env=ENV)
    assert [q["page"] for _, q, _ in api.requests] == pages
    assert (result.rows_read, result.rows_loaded) == (n, n)
    assert _units(con) == [r["site"] for r in RECORDS[:n]]


@pytest.mark.parametrize(("n", "offsets"), [(4, ["0", "2", "4"]), (0, ["0"])])
def test_connector_rest_offset(api, con, n, offsets):
    api.routes["/kpis"] = _paged(RECORDS[:n], "limit", lambda q, s: int(q["offset"]))
    cfg = _cfg(api, "/kpis", pagination={"style": "offset", "page_size": 2})
    assert load_rest(con, cfg, env=ENV).rows_loaded == n
    assert [q["offset"] for _, q, _ in api.requests] == offsets


def test_connector_rest_cursor_in_body(api, con):
    pages = {"": (RECORDS[:2], "c2"), "c2": (RECORDS[2:4], "c3"), "c3": (RECORDS[4:], None)}

    def route(query, headers):
        records, token = pages[query.get("after", "")]
        return _ok({"data": records, "meta": {"next": token}})

    api.routes["/kpis"] = route
    cfg = _cfg(
        api,
        "/kpis",
        pagination={
            "style": "cursor",
            "next_path": "meta.next",
            "cursor_param": "after",
        },
    )
    assert load_rest(con, cfg, env=ENV).rows_loaded == 5
    assert [q.get("after") for _, q, _ in api.requests] == [None, "c2", "c3"]


def test_connector_rest_link_header(api, con):
    def route(query, headers):
        page = int(query.get("p", "1"))
        link = {"Link": f'</kpis?p={page + 1}>; rel="next", </kpis?p=3>; rel="last"'}
        return _ok({"data": RECORDS[(page - 1) * 2 : page * 2]}, link if page < 3 else {})

    api.routes["/kpis"] = route
    cfg = _cfg(api, "/kpis", pagination={"style": "link"})
    assert load_rest(con, cfg, env=ENV).rows_loaded == 5
    assert [q.get("p") for _, q, _ in api.requests] == [None, "2", "3"]


def test_connector_rest_retries_503_with_backoff_and_sends_the_token(api, con, caplog):
    caplog.set_level(logging.DEBUG)
    answers = iter(
        [(503, {}, b"busy " + TOKEN.encode()), (503, {}, b"busy"), _ok({"data": RECORDS})]
    )
    api.routes["/kpis"] = lambda q, h: next(answers)
    sleeps: list[float] = []
    result = load_rest(con, _cfg(api, "/kpis"), env=ENV, sleep=sleeps.append)
    assert result.rows_loaded == 5 and sleeps == [0.5, 1.0]
    assert all(h["Authorization"] == f"Bearer {TOKEN}" for _, _, h in api.requests)
    assert "retry 1/2" in caplog.text and TOKEN not in caplog.text + repr(result)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("1", 1.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
    ids=["seconds", "http-date-in-the-past"],
)
def test_connector_rest_429_honours_retry_after(api, con, retry_after, expected):
    answers = iter([(429, {"Retry-After": retry_after}, b"{}"), _ok({"data": RECORDS[:1]})])
    api.routes["/kpis"] = lambda q, h: next(answers)
    sleeps: list[float] = []
    assert load_rest(con, _cfg(api, "/kpis"), env=ENV, sleep=sleeps.append).rows_loaded == 1
    assert sleeps == [expected]


def test_connector_rest_gives_up_after_max_attempts(api, con, caplog):
    # The server echoes the Authorization header: the token must still not leak.
    api.routes["/kpis"] = lambda q, h: (500, {}, f"boom {h['Authorization']} {q}".encode())
    sleeps: list[float] = []
    cfg = _cfg(api, "/kpis", params={"api_key": "k-123456", "region": "emea"})
    [result] = load_configured_source(con, cfg, root=None, env=ENV, sleep=sleeps.append)
    assert len(api.requests) == 3 and sleeps == [0.5, 1.0]
    assert result.error == (
        f"source 'crm': GET {api.url('/kpis')}?api_key=***&region=emea (page 1): "
        "gave up after 3 attempts (last: HTTP 500)"
    )
    assert "k-123456" not in result.error + caplog.text
    assert TOKEN not in result.error + caplog.text
    assert _units(con) == []


def test_connector_rest_unreachable_server_gives_up(con):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = RestSource(
        kind="rest",
        source_system="crm",
        table="kpi_observations",
        url=f"http://127.0.0.1:{port}/kpis",
        max_attempts=2,
        backoff_s=0.1,
    )
    sleeps: list[float] = []
    with pytest.raises(SourceError, match=r"gave up after 2 attempts \(last: URLError"):
        load_rest(con, cfg, sleep=sleeps.append)
    assert sleeps == [0.1]


def test_connector_rest_malformed_json_names_url_and_page(api, con):
    def route(query, headers):
        if query["page"] == "2":
            return 200, {}, b'{"data": [{"site": "st-09",'
        return _ok({"data": RECORDS[:2]})

    api.routes["/kpis"] = route
    cfg = _cfg(
        api,
        "/kpis",
        params={"access_token": "q-secret-1"},
        pagination={"style": "page", "page_size": 2},
    )
    with pytest.raises(SourceError) as raised:
        load_rest(con, cfg, env=ENV)
    message = str(raised.value)
    assert f"GET {api.url('/kpis')}?access_token=***&page=2&page_size=2 (page 2)" in message
    assert "malformed JSON (Expecting" in message and "q-secret-1" not in message
    assert _units(con) == []  # nothing of a failed fetch is written


def test_connector_rest_unauthorised_hints_at_the_token(api, con):
    # The server echoes what it got: neither the token nor a secret parameter may leak.
    api.routes["/kpis"] = lambda q, h: (401, {}, f"bad {h['Authorization']} {q}".encode())
    cfg = _cfg(api, "/kpis", params={"api_key": "k-123456"})
    with pytest.raises(SourceError, match="HTTP 401; check the token in CRM_TOKEN") as raised:
        load_rest(con, cfg, env=ENV)
    message = str(raised.value)
    assert "the body says \"bad Bearer *** {'api_key': '***'}\"" in message
    assert TOKEN not in message and "k-123456" not in message and len(api.requests) == 1


def test_connector_rest_missing_token_env_is_named(api, con):
    [result] = load_configured_source(con, _cfg(api, "/kpis"), root=None, env={})
    assert result.error.startswith("source 'crm': environment variable CRM_TOKEN is not set")
    assert api.requests == []
    with pytest.raises(SourceConfigError, match="CRM_TOKEN"):
        load_rest(con, _cfg(api, "/kpis"), env={"CRM_TOKEN": " "})


def test_connector_rest_bad_records_are_quarantined_with_url_and_row(api, con):
    bad = [*RECORDS[:2], {"site": "st-07", "kpi": "nps", "day": "yesterday", "score": 1}, 42]
    api.routes["/kpis"] = lambda q, h: _ok({"data": bad})
    cfg = _cfg(api, "/kpis", convert={"value": {"multiply": 0.5}})
    result = load_rest(con, cfg, env=ENV)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 2, 2)
    rows = con.execute(
        "select source_file, source_row, reason, raw_text from raw.quarantine order by source_row"
    ).fetchall()
    label = f"url: {api.url('/kpis')}"
    assert [(r[0], r[1]) for r in rows] == [(label, 3), (label, 4)]
    assert "observed_on 'yesterday' is not a date" in rows[0][2]
    assert json.loads(rows[0][3])["site"] == "st-07"
    assert rows[1][2] == "malformed record: a JSON number, expected an object"
    values = con.execute("select value from raw.kpi_observations order by 1").fetchall()
    assert values == [(20.5,), (21.0,)]


def test_connector_rest_refresh_replaces_the_previous_fetch(api, con):
    answers = iter([_ok({"data": RECORDS}), _ok({"data": RECORDS[:2]})])
    api.routes["/kpis"] = lambda q, h: next(answers)
    load_rest(con, _cfg(api, "/kpis"), env=ENV)
    load_rest(con, _cfg(api, "/kpis"), env=ENV)
    assert _units(con) == ["st-01", "st-02"]


def test_connector_rest_redirect_elsewhere_drops_the_token(api, con):
    other = Api()
    try:
        other.routes["/kpis"] = lambda q, h: _ok({"data": RECORDS[:1]})
        api.routes["/kpis"] = lambda q, h: (302, {"Location": other.url("/kpis")}, b"")
        assert load_rest(con, _cfg(api, "/kpis"), env=ENV).rows_loaded == 1
        assert "Authorization" in api.requests[0][2]
        assert "Authorization" not in other.requests[0][2]
    finally:
        other.close()


# ---- pure functions --------------------------------------------------------------------------


def test_connector_rest_retry_after_and_backoff():
    now = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None
    cfg = RestSource(
        kind="rest",
        source_system="x",
        table="adoption",
        url="https://a.example/x",
        backoff_s=1,
        max_backoff_s=5,
    )
    assert [retry_delay(a, cfg, None) for a in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert retry_delay(1, cfg, 120.0) == 5  # a server's wish is honoured up to the cap


def test_connector_rest_link_header_and_cursor_loop():
    header = '<https://a.example/x?page=2>; rel="next", <https://a.example/x?page=9>; rel="last"'
    assert parse_link_header(header) == {
        "next": "https://a.example/x?page=2",
        "last": "https://a.example/x?page=9",
    }
    assert parse_link_header(None) == {}
    cfg = RestSource(
        kind="rest",
        source_system="x",
        table="adoption",
        url="https://a.example/x",
        pagination={"style": "cursor"},
    )
    with pytest.raises(ValueError, match="same next cursor"):
        next_url(cfg, "https://a.example/x?cursor=abc", [1], {"next": "abc"}, {})
    assert next_url(cfg, "https://a.example/x?cursor=abc", [1], {"next": None}, {}) is None


def test_connector_rest_label_masks_secrets():
    cfg = RestSource(
        kind="rest",
        source_system="x",
        table="adoption",
        url="https://user:pw@a.example/v1/x?sig=abc",
        params={"apiKey": "k", "q": 1},
    )
    assert url_label(cfg) == "url: https://a.example/v1/x?sig=***&apiKey=***&q=1"
