"""Dagster resources: the warehouse connection and where the inputs live."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb


class WarehouseBusy(RuntimeError):
    pass


# DuckDB would take up to 80% of RAM, and a run holds two databases at times (this process's
# and dbt's). 3 GB each keeps a 50M-observation build under 4 GiB at no measured cost in time
# against 4 GB (docs/scaling.md); beyond it DuckDB spills to disk. Raise it (e.g. '80%') for
# larger data.
MEMORY_LIMIT_ENV = "VALUELEDGER_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "3GB"


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file. DuckDB allows one writer: a second run waits, then refuses."""

    path: str
    wait_seconds: float = 30.0
    memory_limit: str | None = os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                con = duckdb.connect(self.path)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"{self.path} is in use by another process (another run, or a reader "
                        f"holding it open) and stayed busy for {self.wait_seconds:.0f} s; "
                        "wait for it to finish and run again"
                    ) from None
                time.sleep(0.5)
        try:
            # SET, not a connect config: DuckDB refuses a second connection to the same file in
            # this process (a test, a report reader) whose config differs from the first.
            if self.memory_limit:
                try:
                    con.execute("set memory_limit = ?", [self.memory_limit])
                except duckdb.Error as exc:
                    raise ValueError(
                        f"{MEMORY_LIMIT_ENV}={self.memory_limit!r} is not a DuckDB memory limit "
                        f"({str(exc).splitlines()[0]}); set it like 3GB or 80%"
                    ) from None
            yield con
        finally:
            con.close()


class Inputs(dg.ConfigurableResource):
    """Where the registry, the sources configuration and the landed source files are."""

    registry_path: str
    sources_config: str
    sources_dir: str
    reports_dir: str
    # Where the validated registry is kept between runs (none: parsed by every process).
    cache_dir: str | None = None
