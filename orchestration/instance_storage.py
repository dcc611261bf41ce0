"""The event log of the local (one-machine) Dagster instance, without an fsync per event.

Dagster's SQLite event log opens a new engine and commits with SQLite's default durability
(synchronous=FULL) for every event, several times per event (run shard, then index shard). A run
of this job logs about 1,200 events (an asset check per dbt test), and that bookkeeping cost
about 30 s of an 80 s run here (profiled). This storage keeps one engine per shard and sets
`synchronous=NORMAL`, the documented setting for WAL mode (Dagster already uses WAL): a commit is
atomic and survives a crash of the process; only a power loss can lose the last events, which
for a local event log means re-running. Production uses PostgreSQL storage
(orchestration/instance/dagster.postgres.yaml), not this.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from sqlalchemy.pool import NullPool

INSTANCE_YAML = """\
# Written by valueledger for the local instance (see orchestration/instance_storage.py).
event_log_storage:
  module: orchestration.instance_storage
  class: LocalEventLogStorage
  config:
    base_dir: {base_dir}
telemetry:
  enabled: false
"""


def _relaxed_sync(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class LocalEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage with one engine per shard and WAL's `synchronous=NORMAL`."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: dict[str, db.engine.Engine] = {}  # before super(): it connects
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> LocalEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> db.engine.Engine:
        engine = self._engines.get(shard)
        if engine is None:
            # NullPool as upstream: no file stays open between events (the webserver and the
            # daemon read the same files from other processes).
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            db.event.listen(engine, "connect", _relaxed_sync)
            self._engines[shard] = engine
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.engine.Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn
