"""SQL connector: a query or table of any database SQLAlchemy reaches, optionally incremental.

The URL (with its password) comes from the environment variable named by `url_env` and never
appears in a message, log or lineage column: messages name the source and host:port only.
Rows stream through a server-side cursor in chunks of `chunk_size`, each chunk as an Arrow table
into DuckDB, and take the shared validation path as one batch labelled `query: ...`.

Incremental semantics (`cursor: updated_at` or an id):
- with no stored cursor (first load, or after `reset_cursor`) the fetch is complete, so it
  replaces every row of the source system: rows deleted at the source disappear;
- after that only rows with cursor > the stored value are fetched; a fetched row whose grain is
  already loaded replaces the old row (late corrections); rows deleted at the source stay;
- the cursor advances to the highest value fetched, in the same transaction as the rows, so a
  failed load fetches the same rows again next time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from sources.connectors.batch import LoadResult
from sources.connectors.config import SqlSource
from sources.connectors.cursors import read_cursor, write_cursor
from sources.connectors.errors import SourceConfigError, SourceError
from sources.connectors.landing import load_arrow, rows_to_arrow
from sources.connectors.rules import EvidenceRules
from sources.connectors.secrets import env_secret, redact

log = logging.getLogger(__name__)

URL_HINT = "the SQLAlchemy URL of the database, e.g. postgresql+psycopg://user:password@host/db"
# Drivers that take a connect timeout under this name (libpq, PyMySQL); others get no argument.
CONNECT_TIMEOUT_BACKENDS = {"postgresql", "mysql", "mariadb"}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433}


def database_url(cfg: SqlSource, env: Mapping[str, str] | None = None) -> URL:
    raw = env_secret(cfg.url_env, cfg.source_system, URL_HINT, env)
    try:
        return make_url(raw.strip())
    except (ArgumentError, ValueError):
        raise SourceConfigError(
            f"source '{cfg.source_system}': environment variable {cfg.url_env} does not hold a "
            "valid SQLAlchemy URL (expected dialect+driver://user:password@host:port/database)"
        ) from None


def describe(url: URL) -> str:
    """Where the database is, for messages: backend, host:port and database, no credentials."""
    backend = url.get_backend_name()
    if not url.host:
        return f"{backend} database {url.database or '(in memory)'}"
    port = url.port or DEFAULT_PORTS.get(backend, "default port")
    return f"{backend} at {url.host}:{port}/{url.database or ''}"


def base_query(cfg: SqlSource, quote: Callable[[str], str] = str) -> str:
    if cfg.query is not None:
        return cfg.query.strip().rstrip(";").strip()
    return "select * from " + ".".join(quote(p) for p in cfg.source_table.split("."))


def query_label(cfg: SqlSource) -> str:
    """The lineage label of the source's rows: its query with the whitespace collapsed."""
    return "query: " + " ".join(base_query(cfg).split())


def build_query(cfg: SqlSource, quote: Callable[[str], str], incremental: bool) -> str:
    """The statement to run; `:cursor` is bound to the stored cursor when incremental."""
    base = base_query(cfg, quote)
    if cfg.cursor is None:
        return base
    col = f"src.{quote(cfg.cursor)}"
    where = f" where {col} > :cursor" if incremental else ""
    # Ordered by the cursor so row numbers repeat when the same fetch is run again.
    return f"select * from ({base}) as src{where} order by {col}"


def _connect_args(url: URL, cfg: SqlSource) -> dict:
    if url.get_backend_name() in CONNECT_TIMEOUT_BACKENDS:
        return {"connect_timeout": cfg.connect_timeout_s}
    return {}


def _higher(a, b):
    if a is None:
        return b
    return a if b is None or a >= b else b


@dataclass
class _Fetch:
    """What the streaming fetch learns on the way: where it failed, the highest cursor."""

    stage: str = "connect to"
    top: object = None


def _chunks(engine, cfg: SqlSource, stored, fetch: _Fetch) -> Iterator[pa.Table]:
    """Stream the result as Arrow tables; the first (empty) one names the columns."""
    incremental = stored is not None
    with engine.connect() as conn:
        fetch.stage = "run the query on"
        sql = build_query(cfg, conn.dialect.identifier_preparer.quote, incremental)
        result = conn.execution_options(stream_results=True, yield_per=cfg.chunk_size).execute(
            text(sql), {"cursor": stored} if incremental else {}
        )
        names = list(result.keys())
        if cfg.cursor and cfg.cursor not in names:
            raise SourceConfigError(
                f"source '{cfg.source_system}': the cursor column '{cfg.cursor}' is not in the "
                f"result of {query_label(cfg)}; select it or fix 'cursor'"
            )
        yield rows_to_arrow(names, [])
        for part in result.partitions():
            chunk = rows_to_arrow(names, part)
            if cfg.cursor:
                fetch.top = _higher(fetch.top, pc.max(chunk.column(cfg.cursor)).as_py())
            yield chunk


def load_sql(
    con: duckdb.DuckDBPyConnection,
    cfg: SqlSource,
    *,
    env: Mapping[str, str] | None = None,
    loaded_at: dt.datetime | None = None,
    rules: EvidenceRules | None = None,
) -> LoadResult:
    """Fetch the source's (new) rows and write them as one batch.

    Raises SourceConfigError (URL variable missing or invalid), SourceError (database down,
    query failed; nothing written) or BatchRejected (a required column is missing).
    """
    url = database_url(cfg, env)
    secrets = [url.password, url.render_as_string(hide_password=False)]
    where = describe(url)
    label = query_label(cfg)
    stored = read_cursor(con, cfg.source_system, cfg.table, cfg.cursor) if cfg.cursor else None
    try:
        engine = create_engine(
            url, poolclass=NullPool, hide_parameters=True, connect_args=_connect_args(url, cfg)
        )
    except (NoSuchModuleError, ImportError):
        raise SourceConfigError(
            f"source '{cfg.source_system}': the database driver '{url.drivername}' named in "
            f"{cfg.url_env} is not installed"
        ) from None
    fetch = _Fetch()

    def move_cursor(c: duckdb.DuckDBPyConnection) -> None:
        if fetch.top is not None:
            write_cursor(c, cfg.source_system, cfg.table, cfg.cursor, fetch.top)

    log.info("source '%s': fetching from %s: %s", cfg.source_system, where, label)
    chunks = _chunks(engine, cfg, stored, fetch)
    try:
        result = load_arrow(
            con,
            cfg,
            label,
            chunks,
            mode="refresh" if stored is None else "upsert",
            loaded_at=loaded_at,
            in_transaction=move_cursor,
            expected_extra=frozenset({cfg.cursor} if cfg.cursor else ()),
            rules=rules,
        )
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        detail = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        message = f"source '{cfg.source_system}': cannot {fetch.stage} {where}: {detail}"
        raise SourceError(redact(message, secrets)) from None
    finally:
        chunks.close()  # releases the connection even when the load stopped half-way
        engine.dispose()
    if stored is not None:
        result.notes[-1] += f" with {cfg.cursor} > {stored}"
    return result
