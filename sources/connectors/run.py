"""One entry point per configured source, whatever its kind; failures come back as results."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

import duckdb

from sources.connectors.batch import LoadResult, record_rejected
from sources.connectors.config import AnySource, RestSource, SqlSource
from sources.connectors.errors import BatchRejected, SourceConfigError, SourceError
from sources.connectors.partitions import files_of_months
from sources.connectors.rest import load_rest, url_label
from sources.connectors.rules import EvidenceRules
from sources.connectors.sql import load_sql, query_label
from sources.files import load_source


def source_label(cfg: AnySource) -> str:
    """The lineage label a source's rows carry (for files: the glob, each file has its own)."""
    if isinstance(cfg, SqlSource):
        return query_label(cfg)
    if isinstance(cfg, RestSource):
        return url_label(cfg)
    return cfg.path


def load_configured_source(
    con: duckdb.DuckDBPyConnection,
    cfg: AnySource,
    root: Path,
    *,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    loaded_at: dt.datetime | None = None,
    rules: EvidenceRules | None = None,
    months: Collection[dt.date] | None = None,
) -> list[LoadResult]:
    """Load one source: a result per file, or one per fetch for sql and rest.

    A source that cannot be loaded returns a result with `error` set (safe to show: no secrets)
    and leaves its earlier rows and cursor as they were. A rejected batch (for example a
    missing required column) is also recorded in raw.quarantine, like a rejected file.
    `rules` (the registry's knowledge) adds the semantic checks; `loaded_at` stamps every row
    of one run alike, so later checks can tell which run delivered a row. `months` (a
    partition run) loads only the files named with those months, and no sql or rest source.
    """
    if cfg.kind == "file":
        paths = None if months is None else files_of_months(cfg.files(root), months)
        return load_source(con, cfg, root, loaded_at=loaded_at, rules=rules, paths=paths)
    if months is not None:
        return []
    label = source_label(cfg)
    try:
        if isinstance(cfg, SqlSource):
            return [load_sql(con, cfg, env=env, loaded_at=loaded_at, rules=rules)]
        return [load_rest(con, cfg, env=env, sleep=sleep, loaded_at=loaded_at, rules=rules)]
    except BatchRejected as exc:
        record_rejected(con, cfg, label, str(exc))
        return [LoadResult(cfg.source_system, cfg.table, label, error=str(exc))]
    except (SourceConfigError, SourceError) as exc:
        return [LoadResult(cfg.source_system, cfg.table, label, error=str(exc))]
