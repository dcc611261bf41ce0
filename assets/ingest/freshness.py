"""Freshness per source: how old each source's newest evidence date is, against the limit its
sources.yaml entry sets (`freshness: {max_lag_days: N}`).

One check per source on the evidence table it feeds, computed from the warehouse (the newest
observed_on, or cost_month for costs), not from when Dagster last ran: a daily load that
delivers nothing new is still stale. The checks warn and never block (the relative
`evidence_freshness` gate compares sources of one table with each other).
"""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets.ingest.evidence import _key
from orchestration.resources import Inputs, Warehouse
from orchestration.settings import get_settings
from sources.connectors.config import AnySource
from sources.contracts import RAW_SCHEMA
from sources.files import load_sources_config

DATE_COLUMN = {
    "kpi_observations": "observed_on",
    "ai_costs": "cost_month",
    "adoption": "observed_on",
}


@dataclass(frozen=True)
class SourceFreshness:
    source_system: str
    table: str
    max_lag_days: int
    last_date: dt.date | None
    last_loaded_at: dt.datetime | None
    lag_days: int | None

    @property
    def passed(self) -> bool:
        return self.lag_days is not None and self.lag_days <= self.max_lag_days

    @property
    def message(self) -> str:
        where = f"source '{self.source_system}' ({RAW_SCHEMA}.{self.table})"
        limit = f"limit {self.max_lag_days} days (sources.yaml freshness.max_lag_days)"
        if self.last_date is None:
            return f"{where}: no rows loaded; {limit}"
        verdict = "within" if self.passed else "stale:"
        return (
            f"{where} {verdict} newest {DATE_COLUMN[self.table]} {self.last_date} is "
            f"{self.lag_days} days old, {limit}; "
            f"last loaded {self.last_loaded_at:%Y-%m-%d %H:%M} UTC"
        )


def source_freshness(con, cfg: AnySource, today: dt.date) -> SourceFreshness:
    column = DATE_COLUMN[cfg.table]
    last_date, last_loaded_at = con.execute(
        f"select max({column}), max(loaded_at) from {RAW_SCHEMA}.{cfg.table} "
        "where source_system = ?",
        [cfg.source_system],
    ).fetchone()
    return SourceFreshness(
        source_system=cfg.source_system,
        table=cfg.table,
        max_lag_days=cfg.freshness.max_lag_days,
        last_date=last_date,
        last_loaded_at=last_loaded_at,
        lag_days=None if last_date is None else (today - last_date).days,
    )


def check_name(cfg: AnySource) -> str:
    return f"freshness_{cfg.source_system}"


_configured = [c for c in load_sources_config(get_settings().sources_config) if c.freshness]


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            check_name(cfg),
            asset=_key(cfg.table),
            blocking=False,
            description=(
                f"Newest {DATE_COLUMN[cfg.table]} of source '{cfg.source_system}' is at most "
                f"{cfg.freshness.max_lag_days} days old."
            ),
        )
        for cfg in _configured
    ],
    can_subset=True,
)
def source_freshness_checks(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse, inputs: Inputs
):
    by_name = {
        check_name(c): c for c in load_sources_config(Path(inputs.sources_config)) if c.freshness
    }
    today = dt.datetime.now(dt.UTC).date()
    with warehouse.connect() as con:
        for key in sorted(context.selected_asset_check_keys, key=lambda k: k.name):
            cfg = by_name.get(key.name)
            if cfg is None:
                # The configuration changed since the definitions were loaded.
                yield dg.AssetCheckResult(
                    asset_key=key.asset_key,
                    check_name=key.name,
                    passed=False,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=f"{key.name}: the source has no freshness setting any more",
                )
                continue
            found = source_freshness(con, cfg, today)
            yield dg.AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=found.passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=found.message,
                metadata={
                    "source_system": cfg.source_system,
                    "last_date": str(found.last_date),
                    "lag_days": found.lag_days if found.lag_days is not None else -1,
                    "max_lag_days": cfg.freshness.max_lag_days,
                },
            )
