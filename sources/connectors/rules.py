"""What the portfolio registry knows, for the semantic checks of every load.

Typing tells whether a value is a number or a date; the registry tells whether it can be true:
a KPI or unit that does not exist, a negative value for a KPI whose minimum is 0, a value 60
times the KPI's maximum (seconds reported as minutes), a date after the load or before the
portfolio's data starts, active users above eligible users, a cost in another currency.
`batch.write_batch` applies these rules to every batch (files, SQL, REST alike) and quarantines
the rows that break them, with a reason naming the field, the value and what to do.

The rules depend only on the registry (not on the day of the load), so `fingerprint` is stable
until the registry changes; a file whose bytes and rules fingerprint are both unchanged is not
validated again.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from sources.portfolio.registry import Registry

# Factors between a KPI's unit of measure and the units it is commonly confused with (seconds,
# minutes and hours; a share and a percentage; money in cents or thousands): a value that is out
# of range but fits once divided or multiplied by one of them is reported as a probable wrong unit.
UNIT_FACTORS = {
    "second": (60.0, 3600.0),
    "minute": (60.0, 3600.0),
    "hour": (60.0, 24.0, 3600.0),
    "day": (24.0, 7.0),
    "share": (100.0,),
    "ratio": (100.0,),
    "rate": (100.0,),
    "percent": (100.0,),
}
OTHER_FACTORS = (100.0, 1000.0)


def unit_factors(unit_of_measure: str) -> tuple[float, ...]:
    """The factors a value in this unit of measure is commonly off by, most likely first."""
    word = unit_of_measure.lower()
    for key, factors in UNIT_FACTORS.items():
        if key in word:
            return factors
    return OTHER_FACTORS


RULE_TABLES = ("_rule_kpis", "_rule_units", "_rule_initiatives")


@dataclass(frozen=True)
class KpiRule:
    kpi_id: str
    unit_of_measure: str
    min_value: float | None
    max_value: float | None

    @property
    def factors(self) -> tuple[float, ...]:
        return unit_factors(self.unit_of_measure)


@dataclass(frozen=True)
class EvidenceRules:
    """The registry's knowledge a loader needs; build it with `from_registry`."""

    kpis: tuple[KpiRule, ...]
    unit_ids: frozenset[str]
    initiative_ids: frozenset[str]
    data_starts_on: dt.date
    currency: str
    # The day the load counts as today (dates after it are in the future); None: the load's own
    # date (loaded_at, UTC). Tests pin it.
    today: dt.date | None = None

    @classmethod
    def from_registry(cls, registry: Registry, today: dt.date | None = None) -> EvidenceRules:
        return cls(
            kpis=tuple(
                KpiRule(k.kpi_id, k.unit_of_measure, k.min_value, k.max_value)
                for k in registry.kpis
            ),
            unit_ids=frozenset(u.unit_id for u in registry.units),
            initiative_ids=frozenset(i.initiative_id for i in registry.initiatives),
            data_starts_on=registry.portfolio.data_starts_on,
            currency=registry.portfolio.currency,
            today=today,
        )

    @functools.cached_property
    def fingerprint(self) -> str:
        """sha256 of everything the rules depend on except the day: changes with the registry.

        Cached: every file of a load asks, and at 20,000 units it costs 0.1 s each time.
        """
        doc = {
            "kpis": sorted(
                [k.kpi_id, k.unit_of_measure, k.min_value, k.max_value] for k in self.kpis
            ),
            "units": sorted(self.unit_ids),
            "initiatives": sorted(self.initiative_ids),
            "data_starts_on": self.data_starts_on.isoformat(),
            "currency": self.currency,
            "factors": sorted([k.kpi_id, *k.factors] for k in self.kpis),
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def install(self, con: duckdb.DuckDBPyConnection) -> None:
        """The registry as temp tables the batch SQL joins (dropped with the batch's tables)."""
        tables = {
            "_rule_kpis": pa.table(
                {
                    "kpi_id": pa.array([k.kpi_id for k in self.kpis], pa.string()),
                    "unit_of_measure": pa.array(
                        [k.unit_of_measure for k in self.kpis], pa.string()
                    ),
                    "min_value": pa.array([k.min_value for k in self.kpis], pa.float64()),
                    "max_value": pa.array([k.max_value for k in self.kpis], pa.float64()),
                    "factors": pa.array(
                        [list(k.factors) for k in self.kpis], pa.list_(pa.float64())
                    ),
                }
            ),
            "_rule_units": pa.table({"unit_id": pa.array(sorted(self.unit_ids), pa.string())}),
            "_rule_initiatives": pa.table(
                {"initiative_id": pa.array(sorted(self.initiative_ids), pa.string())}
            ),
        }
        for name, table in tables.items():
            con.register("_rule_source", table)
            try:
                con.execute(f"create or replace temp table {name} as select * from _rule_source")
            finally:
                con.unregister("_rule_source")
