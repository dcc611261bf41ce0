"""A Dagster logger that shows a run's progress on the terminal: one line per step.

Dagster's own console log is detailed (every dbt node, every event) and goes to the run's log
file; this one prints what a person waiting for the run wants: which step, how far, how long.
"""

from __future__ import annotations

import logging
import sys
import time

import dagster as dg

_WATCHED = {
    "STEP_START": "started",
    "STEP_SUCCESS": "done",
    "STEP_FAILURE": "FAILED",
}


class ProgressHandler(logging.Handler):
    def __init__(self, stream):
        super().__init__(logging.DEBUG)
        self.stream = stream
        self.started: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key")
        if event is None or step is None:
            return
        kind = event.event_type_value
        if kind in ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"):
            self.counts[step] = self.counts.get(step, 0) + 1
            return
        if kind not in _WATCHED:
            return
        now = time.perf_counter()
        if kind == "STEP_START":
            self.started[step] = now
            line = f"    {step} ..."
        else:
            took = now - self.started.get(step, now)
            done = self.counts.get(step, 0)
            line = f"    {step}: {_WATCHED[kind]} in {took:.1f} s ({done} assets and checks)"
        print(line, file=self.stream, flush=True)


@dg.logger(description="Step-by-step progress on the terminal (used by `valueledger run`).")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    log = logging.getLogger("valueledger.progress")
    log.setLevel(logging.DEBUG)  # step events are logged at debug level
    log.propagate = False
    log.handlers = [ProgressHandler(sys.__stdout__)]
    return log
