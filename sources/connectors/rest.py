"""REST connector: a paginated JSON API into the shared validation path.

Pure parts (URLs, pagination, body parsing, retry delays) are separate from the one function
that does HTTP, so each is tested on its own. The token comes from `token_env`, goes only to the
configured origin (not to a redirect or next link on another host) and never into a message:
URLs in messages and lineage have secret-looking query values masked. Each load is a full fetch
that replaces the source system's rows (`refresh`); records land as JSON text, typed by DuckDB.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import duckdb

from sources.connectors.batch import LoadResult
from sources.connectors.config import (
    CursorPagination,
    LinkPagination,
    OffsetPagination,
    PagePagination,
    RestSource,
)
from sources.connectors.errors import SourceError
from sources.connectors.landing import load_json_records
from sources.connectors.rules import EvidenceRules
from sources.connectors.secrets import SECRET_PARAM, env_secret, redact, safe_url

log = logging.getLogger(__name__)

RETRY_STATUSES = {408, 429}  # and every 5xx


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


Transport = Callable[[str, Mapping[str, str], float], Response]


# ---- pure: URLs, pagination, parsing, delays ------------------------------------------------


def with_params(url: str, params: Mapping[str, object]) -> str:
    """`url` with `params` set in its query string (replacing values already there)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: _param(v) for k, v in params.items()})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _param(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def query_param(url: str, name: str) -> str | None:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)).get(name)


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.rpartition("@")[2].lower()


def url_label(cfg: RestSource) -> str:
    """Lineage label of the source's rows: its URL and fixed parameters, secrets masked."""
    return "url: " + safe_url(with_params(cfg.url, cfg.params))


def first_url(cfg: RestSource) -> str:
    p = cfg.pagination
    paging: dict[str, object] = {}
    if isinstance(p, PagePagination):
        paging = {p.page_param: p.first_page, p.size_param: p.page_size}
    elif isinstance(p, OffsetPagination):
        paging = {p.offset_param: 0, p.limit_param: p.page_size}
    elif isinstance(p, CursorPagination | LinkPagination) and p.size_param and p.page_size:
        paging = {p.size_param: p.page_size}
    return with_params(cfg.url, {**cfg.params, **paging})


def value_at(body: object, path: str) -> object:
    """The value at a dotted path in a JSON body (None when absent); "" is the body itself."""
    for key in filter(None, path.split(".")):
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def records_at(body: object, path: str, where: str) -> list:
    records = value_at(body, path)
    if not isinstance(records, list):
        place = f"at '{path}'" if path else "as the body"
        raise SourceError(
            f"{where}: expected a list of records {place}, found "
            f"{type(records).__name__ if records is not None else 'nothing'}; "
            "check 'records' in the source configuration"
        )
    return records


def parse_json(body: bytes, where: str) -> object:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        detail = (
            f"{exc.msg} at line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else "not UTF-8 text"
        )
        start = body[:120].decode("utf-8", "replace")
        raise SourceError(f"{where}: malformed JSON ({detail}); body starts {start!r}") from None


LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def parse_link_header(value: str | None) -> dict[str, str]:
    """RFC 8288 Link header -> {rel: url} (`<a>; rel="next", <b>; rel="last"`)."""
    links = {}
    for target, params in LINK.findall(value or ""):
        for param in params.split(";"):
            name, _, rel = param.strip().partition("=")
            if name.strip().lower() == "rel":
                for r in rel.strip().strip('"').split():
                    links[r.lower()] = target
    return links


def next_url(cfg: RestSource, url: str, records: list, body: object, headers) -> str | None:
    """The next page's URL, or None after the last page (ValueError on a cursor loop)."""
    p = cfg.pagination
    if isinstance(p, PagePagination):
        if len(records) < p.page_size:
            return None
        return with_params(url, {p.page_param: int(query_param(url, p.page_param)) + 1})
    if isinstance(p, OffsetPagination):
        if len(records) < p.page_size:
            return None
        offset = int(query_param(url, p.offset_param)) + len(records)
        return with_params(url, {p.offset_param: offset})
    if isinstance(p, CursorPagination):
        token = value_at(body, p.next_path)
        if token in (None, ""):
            return None
        if str(token) == query_param(url, p.cursor_param):
            raise ValueError(
                f"the API answered the same next cursor again ({p.next_path}); stopping to avoid "
                "an endless loop"
            )
        return with_params(url, {p.cursor_param: token})
    if isinstance(p, LinkPagination):
        target = parse_link_header(headers.get("link")).get("next")
        return urljoin(url, target) if target else None
    return None


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def retry_delay(attempt: int, cfg: RestSource, retry_after: float | None) -> float:
    """Exponential backoff (backoff_s, 2x, 4x...) unless the server said; never over the cap."""
    wanted = retry_after if retry_after is not None else cfg.backoff_s * 2 ** (attempt - 1)
    return min(wanted, cfg.max_backoff_s)


# ---- I/O --------------------------------------------------------------------------------------


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never carry the token to another host."""

    def __init__(self, token_header: str):
        self.token_header = token_header

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and origin(newurl) != origin(req.full_url):
            new.remove_header(self.token_header.capitalize())
        return new


def urllib_transport(token_header: str = "Authorization") -> Transport:
    opener = urllib.request.build_opener(_SameOriginRedirects(token_header))

    def get(url: str, headers: Mapping[str, str], timeout: float) -> Response:
        request = urllib.request.Request(url, headers=dict(headers), method="GET")
        try:
            with opener.open(request, timeout=timeout) as resp:
                return Response(resp.status, _lower(resp.headers), resp.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return Response(exc.code, _lower(exc.headers), exc.read())

    return get


def _lower(headers) -> dict[str, str]:
    return {k.lower(): v for k, v in (headers or {}).items()}


TRANSIENT = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)


def get_with_retries(
    cfg: RestSource,
    url: str,
    headers: Mapping[str, str],
    where: str,
    *,
    transport: Transport,
    sleep: Callable[[float], None],
    secrets: list[str | None],
) -> Response:
    """GET with bounded retries on 408, 429, 5xx and network errors, honouring Retry-After."""
    for attempt in range(1, cfg.max_attempts + 1):
        retry_after = None
        try:
            resp = transport(url, headers, cfg.timeout_s)
        except TRANSIENT as exc:
            problem = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        else:
            if resp.status < 300:
                return resp
            excerpt = resp.body[:200].decode("utf-8", "replace").strip()
            if resp.status not in RETRY_STATUSES and resp.status < 500:
                hint = ""
                if resp.status in (401, 403):
                    hint = (
                        f"; check the token in {cfg.token_env}"
                        if cfg.token_env
                        else "; the API wants credentials: set token_env"
                    )
                raise SourceError(
                    redact(f"{where}: HTTP {resp.status}{hint}; the body says {excerpt!r}", secrets)
                )
            problem = f"HTTP {resp.status}"
            now = dt.datetime.now(dt.UTC)
            retry_after = parse_retry_after(resp.headers.get("retry-after"), now)
        if attempt == cfg.max_attempts:
            raise SourceError(
                redact(f"{where}: gave up after {attempt} attempts (last: {problem})", secrets)
            )
        delay = retry_delay(attempt, cfg, retry_after)
        log.warning(
            redact(
                f"{where}: {problem}; retry {attempt}/{cfg.max_attempts - 1} in {delay:.1f} s",
                secrets,
            )
        )
        sleep(delay)
    raise AssertionError("unreachable")


def fetch_pages(
    cfg: RestSource,
    token: str | None,
    *,
    transport: Transport,
    sleep: Callable[[float], None],
) -> Iterator[list]:
    """Yield the records of each page, following the configured pagination."""
    url = first_url(cfg)
    home = origin(url)
    # Redact the token and secret-looking parameter values, should a server echo them back.
    secrets = [token, *(str(v) for k, v in cfg.params.items() if SECRET_PARAM.search(k))]
    for page in range(1, cfg.max_pages + 1):
        headers = {"Accept": "application/json", "User-Agent": "valueledger", **cfg.headers}
        if token and origin(url) == home:
            headers[cfg.token_header] = cfg.token_prefix + token
        where = f"source '{cfg.source_system}': GET {safe_url(url)} (page {page})"
        resp = get_with_retries(
            cfg, url, headers, where, transport=transport, sleep=sleep, secrets=secrets
        )
        try:
            body = parse_json(resp.body, where)
            records = records_at(body, cfg.records, where)
            url = next_url(cfg, url, records, body, resp.headers)
        except SourceError as exc:
            raise SourceError(redact(str(exc), secrets)) from None
        except ValueError as exc:
            raise SourceError(redact(f"{where}: {exc}", secrets)) from None
        yield records
        if url is None:
            return
    raise SourceError(
        f"source '{cfg.source_system}': more than max_pages={cfg.max_pages} pages; raise "
        "max_pages or check the pagination settings"
    )


def load_rest(
    con: duckdb.DuckDBPyConnection,
    cfg: RestSource,
    *,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: Transport | None = None,
    loaded_at: dt.datetime | None = None,
    rules: EvidenceRules | None = None,
) -> LoadResult:
    """Fetch every page and replace the source system's rows with them, as one batch.

    Raises SourceConfigError (token variable missing), SourceError (unreachable, gave up,
    malformed answer; nothing written) or BatchRejected (a required field is missing).
    """
    token = (
        env_secret(cfg.token_env, cfg.source_system, "the API token", env)
        if cfg.token_env
        else None
    )
    transport = transport or urllib_transport(cfg.token_header)
    pages = fetch_pages(cfg, token, transport=transport, sleep=sleep)
    return load_json_records(con, cfg, url_label(cfg), pages, loaded_at=loaded_at, rules=rules)
