"""When the job runs: a daily refresh, a monthly finance close, and new files landing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from orchestration.partitions import whole_range_tags
from orchestration.settings import get_settings
from sources.files import load_sources_config

JOB_NAME = "valueledger"
TIMEZONE = "UTC"

# Every run of the job covers all observation months at once (orchestration/partitions.py); the
# range is computed at each tick, so a new month is in it from its first day.


@dg.schedule(
    name="daily_refresh",
    job_name=JOB_NAME,
    cron_schedule="0 5 * * *",
    execution_timezone=TIMEZONE,
    description="Every morning: load what landed overnight and rebuild the marts.",
)
def daily_refresh(context: dg.ScheduleEvaluationContext):
    return dg.RunRequest(tags=whole_range_tags())


# Finance closes on the third working day; the 4th at 06:00 leaves room for late cost postings.
@dg.schedule(
    name="monthly_finance_close",
    job_name=JOB_NAME,
    cron_schedule="0 6 4 * *",
    execution_timezone=TIMEZONE,
    tags={"valueledger/purpose": "finance-close"},
    description="The run finance books from: after month-end costs are posted.",
)
def monthly_finance_close(context: dg.ScheduleEvaluationContext):
    return dg.RunRequest(tags={"valueledger/purpose": "finance-close", **whole_range_tags()})


def landed_files(sources_config: Path, sources_dir: Path) -> dict[str, list[float]]:
    """Every file the configured file sources would load, with its size and mtime."""
    found = {}
    for cfg in load_sources_config(sources_config):
        if cfg.kind != "file":
            continue
        for path in cfg.files(sources_dir):
            stat = path.stat()
            found[str(path)] = [stat.st_size, stat.st_mtime]
    return found


@dg.sensor(
    name="new_landed_files",
    job_name=JOB_NAME,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts a run when files are added to or changed in the landing folder.",
)
def new_landed_files(context: dg.SensorEvaluationContext):
    settings = get_settings()
    current = landed_files(settings.sources_config, settings.sources_dir)
    previous = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(p for p, sig in current.items() if previous.get(p) != sig)
    context.update_cursor(json.dumps(current, sort_keys=True))
    if not changed:
        return dg.SkipReason(f"no new or changed files in {settings.sources_dir}")
    run_key = hashlib.sha256(json.dumps([(p, current[p]) for p in changed]).encode()).hexdigest()
    return dg.RunRequest(
        run_key=run_key[:32],
        tags={
            "valueledger/trigger": "landing",
            "valueledger/files": str(len(changed)),
            **whole_range_tags(),
        },
    )
