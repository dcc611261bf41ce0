"""Monthly partitions of the KPI observations, and how whole runs cover all of them.

A run of the `valueledger` job (make run, the schedules, the landing sensor) targets every
partition in one run (a partition key range); `observations_by_month` re-processes some months
(a late or corrected file) and builds dbt incrementally for them (docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import json
import warnings

import dagster as dg

from orchestration.settings import get_settings
from sources.portfolio.registry import RegistryError, load_registry

# `backfill_policy` is marked beta; dagster is pinned exactly (requirements.lock).
warnings.filterwarnings("ignore", category=dg.BetaWarning)

PARTITION_JOB = "observations_by_month"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# Used only when the registry cannot be read at definition time: the registry asset then fails
# the run with the registry's own readable error, and the UI still loads.
FALLBACK_START = dt.date(2020, 1, 1)


def data_starts_on() -> dt.date:
    """portfolio.data_starts_on of the registry: no evidence may be older (sources/rules)."""
    try:
        # Parsed once per process (the registry asset and the loaders reuse this parse), and
        # kept in the cache folder for the next run.
        settings = get_settings()
        return load_registry(settings.registry_path, settings.cache_dir).portfolio.data_starts_on
    except (RegistryError, OSError):
        return FALLBACK_START


# One partition per calendar month from the data start; end_offset=1 adds the running month,
# so the daily refresh loads the current month's file as it grows.
observation_months = dg.MonthlyPartitionsDefinition(
    start_date=data_starts_on().replace(day=1).isoformat(), end_offset=1
)


def whole_range_tags(partitions_def: dg.PartitionsDefinition = observation_months) -> dict:
    """Tags for a run that covers every partition at once (a single-run backfill of all)."""
    keys = partitions_def.get_partition_keys()
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}


def month_range_tags(first: str, last: str) -> dict:
    """Tags for a run over the months first..last (YYYY-MM); a readable error for a bad month."""
    keys = observation_months.get_partition_keys()
    found = []
    for month in (first, last):
        key = f"{month}-01" if len(month) == 7 else month
        if key not in keys:
            raise ValueError(
                f"month {month!r} is not an observation partition; use YYYY-MM from "
                f"{keys[0][:7]} to {keys[-1][:7]}"
            )
        found.append(key)
    if found[0] > found[1]:
        raise ValueError(f"month range {first} to {last} ends before it starts")
    return {RANGE_START_TAG: found[0], RANGE_END_TAG: found[1]}


def covers_all(context: dg.AssetExecutionContext) -> bool:
    keys = observation_months.get_partition_keys()
    key_range = context.partition_key_range
    return key_range.start == keys[0] and key_range.end == keys[-1]


def context_months(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The months a partitioned run targets (first days), in order."""
    return [
        dt.date.fromisoformat(k)
        for k in observation_months.get_partition_keys_in_range(context.partition_key_range)
    ]


def months_json(months) -> str:
    return json.dumps(sorted(m.isoformat() for m in months))
