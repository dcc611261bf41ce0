"""The event log of the local (one-machine) Dagster instance, without an fsync per event.

Dagster's SQLite event log opens a new engine and commits with SQLite's default durability
(synchronous=FULL) for every event, several times per event (run shard, then index shard). A run
of this job logs about 1,200 events (an asset check per dbt test), and that bookkeeping cost
about 30 s of an 80 s run here (profiled). This storage sets `synchronous=NORMAL`, the
documented setting for WAL mode (Dagster already uses WAL): a commit is atomic and survives a
crash of the process; only a power loss can lose the last events, which for a local event log
means re-running. It also keeps one open connection per shard it writes (a few shards at most):
closing a shard's last connection checkpoints its WAL into the database file, and a new
connection per event did that thousands of times per run (2 s of an incremental run, profiled).
Other processes (the webserver, the daemon) read the same files as before: WAL lets them read
while a connection is open. Production uses PostgreSQL storage
(orchestration/instance/dagster.postgres.yaml), not this.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from sqlalchemy.pool import QueuePool

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
    """SqliteEventLogStorage with WAL's `synchronous=NORMAL` and a pooled connection per shard."""

    # Shards with an open connection; a long-lived process (the webserver) closes the oldest
    # beyond this (a run writes its own shard and the index).
    OPEN_SHARDS = 4

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, db.engine.Engine] = OrderedDict()  # before super()
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> LocalEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> db.engine.Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = db.create_engine(
            self.conn_string_for_shard(shard),
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=2,
            # Connections are used under self._db_lock only, one thread at a time.
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        db.event.listen(engine, "connect", _relaxed_sync)
        self._engines[shard] = engine
        while len(self._engines) > self.OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
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

    def has_table(self, table_name: str) -> bool:
        # Asked on every asset check event, with a new engine each time upstream; a table that
        # exists stays for the life of the process (storage migrations run offline).
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)
        return table_name in self._tables

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()
