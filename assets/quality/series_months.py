"""The KPI series profiled per month and kept in the warehouse, so a run profiles only the
months whose rows changed.

The gates judge whole KPI series (row counts, duplicates, gaps, monthly levels), and reading
all of `raw.kpi_observations` for them cost about 17 s at 50M rows, on every run, also on a
daily run that added one day. Everything those frames need is kept here per series x month:

- `quality.kpi_series_months`: per source system x KPI x unit (ids in lower case, as dbt's
  staging reads them) x month: rows, duplicate dates, rows missing a required column, value
  and weight ranges, first and last date, the month's median value, and the gaps between its
  consecutive dates (a histogram, and the longest with its dates). A gap that spans a month
  boundary is the next month's first date minus the previous month's last date, computed when
  the frames are read.
- `quality.kpi_observation_months`: each month's fingerprint (row count and a hash of every
  column of every row) when it was profiled, and the version of this profile.

A month is profiled again when its fingerprint differs from the stored one, however its rows
changed (a loader, a re-processed partition, rows written around the loader), and the first
run, or a new PROFILE_VERSION, profiles every month. Fingerprinting reads the table once
(about 0.6 s at 50M rows) instead of sorting it.
"""

from __future__ import annotations

import duckdb

from sources.contracts import EVIDENCE_CONTRACTS, RAW_SCHEMA

QUALITY_SCHEMA = "quality"
SERIES_MONTHS = f"{QUALITY_SCHEMA}.kpi_series_months"
FINGERPRINTS = f"{QUALITY_SCHEMA}.kpi_observation_months"
# Raise when what a series month holds changes: every month is profiled again.
PROFILE_VERSION = 1

_CONTRACT = EVIDENCE_CONTRACTS["kpi_observations"]
_COLUMNS = [c.name for c in _CONTRACT.columns]
_MONTH = "date_trunc('month', observed_on)::date"

SERIES_MONTHS_DDL = f"""
create table if not exists {SERIES_MONTHS} (
    source_system varchar,
    kpi_id varchar,
    unit_id varchar,
    observed_month date,
    n_rows bigint,
    n_duplicate_grain bigint,
    n_missing_required bigint,
    value_min double,
    value_max double,
    weight_min double,
    first_date date,
    last_date date,
    month_median double,
    gaps struct(gap_days bigint, n_gaps bigint)[],
    longest_gap_days bigint,
    gap_from date,
    gap_to date
)"""
FINGERPRINTS_DDL = f"""
create table if not exists {FINGERPRINTS} (
    observed_month date,
    n_rows bigint,
    content_hash hugeint,
    profile_version integer
)"""


def _in_months(month: str, months: str) -> str:
    """SQL condition: `month` is one of the months of the relation `months` (observed_month),
    the null month of rows without a date included."""
    return (
        f"({month} in (select observed_month from {months}) or ({month} is null and exists "
        f"(select 1 from {months} where observed_month is null)))"
    )


def _fingerprints(source: str) -> str:
    """Per month of `source`: its row count and the sum of a hash of every column of each row
    (order-free, and a duplicated row changes it, unlike xor)."""
    return f"""
        select {_MONTH} as observed_month, count(*) as n_rows,
            sum(hash({", ".join(_COLUMNS)})::hugeint) as content_hash
        from {source} group by all
    """


def _profile_months(months: str) -> list[str]:
    """Statements that insert the series months of the months in the relation `months`
    (column observed_month; rows without a date have a null month) from raw.kpi_observations.
    Ids are normalised on the distinct raw ids, and every row then carries one integer series
    key: far cheaper than lower(trim()) and a window over varchar keys on every row. The ids
    and the dated rows are temp tables, so the planner knows their sizes."""
    rows = f"""
        select *, {_MONTH} as observed_month,
            {_CONTRACT.missing_required_sql()} as is_missing
        from {RAW_SCHEMA}.kpi_observations
        where {_in_months(_MONTH, months)}
    """
    return [
        f"""
        create or replace temp table _kpi_series as
        with raw_ids as (
            select distinct source_system, kpi_id as raw_kpi_id, unit_id as raw_unit_id
            from ({rows})
        ),
        ids as (
            select *, lower(trim(raw_kpi_id)) as kpi_id, lower(trim(raw_unit_id)) as unit_id
            from raw_ids
        )
        select *, dense_rank() over (order by source_system, kpi_id, unit_id) as series_id
        from ids
        """,
        f"""
        create or replace temp table _kpi_dated as
        select s.series_id, o.observed_month, o.observed_on, o.value, o.weight, o.is_missing,
            lag(o.observed_on) over (
                partition by s.series_id, o.observed_month order by o.observed_on
            ) as previous_on
        from ({rows}) as o
        join _kpi_series as s
            on o.source_system is not distinct from s.source_system
            and o.kpi_id is not distinct from s.raw_kpi_id
            and o.unit_id is not distinct from s.raw_unit_id
        """,
        f"""
        insert into {SERIES_MONTHS} by name
        with profiled as (
            select series_id, observed_month,
                count(*) as n_rows,
                -- A date's first row is the one whose previous date differs from its own.
                count(*)
                    - count(observed_on) filter (where observed_on is distinct from previous_on)
                    as n_duplicate_grain,
                count(*) filter (where is_missing) as n_missing_required,
                min(value) as value_min, max(value) as value_max, min(weight) as weight_min,
                min(observed_on) as first_date, max(observed_on) as last_date,
                median(value) as month_median
            from _kpi_dated group by all
        ),
        -- One row per distinct date after the month's first: its gap to the date before.
        gap_rows as (
            select series_id, observed_month, previous_on, observed_on,
                date_diff('day', previous_on, observed_on) as gap_days
            from _kpi_dated
            where previous_on is not null and previous_on is distinct from observed_on
        ),
        gaps as (
            select series_id, observed_month,
                list({{'gap_days': gap_days, 'n_gaps': n_gaps}} order by gap_days) as gaps
            from (
                select series_id, observed_month, gap_days, count(*) as n_gaps
                from gap_rows group by all
            )
            group by all
        ),
        longest as (
            select series_id, observed_month, max(gap_days) as longest_gap_days,
                -- The earliest of equally long gaps (arg_max alone returns any of them).
                arg_min(previous_on, (-gap_days, observed_on)) as gap_from,
                arg_min(observed_on, (-gap_days, observed_on)) as gap_to
            from gap_rows group by all
        )
        select ids.source_system, ids.kpi_id, ids.unit_id, p.observed_month,
            p.n_rows, p.n_duplicate_grain, p.n_missing_required,
            p.value_min, p.value_max, p.weight_min, p.first_date, p.last_date, p.month_median,
            coalesce(g.gaps, []) as gaps, l.longest_gap_days, l.gap_from, l.gap_to
        from profiled as p
        join (select distinct series_id, source_system, kpi_id, unit_id from _kpi_series) as ids
            using (series_id)
        left join gaps as g using (series_id, observed_month)
        left join longest as l using (series_id, observed_month)
        """,
    ]


def refresh_series_months(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the stored series months up to date with raw.kpi_observations: profile the months
    whose fingerprint changed (every month on the first run), drop months that are gone.
    One transaction: a failure leaves the previous profile. Returns the months profiled."""
    con.execute(f"create schema if not exists {QUALITY_SCHEMA}")
    stale_version = _stored_version(con) not in (None, PROFILE_VERSION)
    con.execute("begin transaction")
    try:
        if stale_version:
            con.execute(f"drop table {SERIES_MONTHS}")
            con.execute(f"drop table {FINGERPRINTS}")
        con.execute(SERIES_MONTHS_DDL)
        con.execute(FINGERPRINTS_DDL)
        con.execute(
            f"create or replace temp table _kpi_months_now as "
            f"{_fingerprints(f'{RAW_SCHEMA}.kpi_observations')}"
        )
        # Months whose rows changed, appeared or disappeared.
        con.execute(
            f"""
            create or replace temp table _kpi_months_changed as
            select coalesce(now.observed_month, held.observed_month) as observed_month
            from _kpi_months_now as now
            full join {FINGERPRINTS} as held
                on now.observed_month is not distinct from held.observed_month
            where now.n_rows is distinct from held.n_rows
                or now.content_hash is distinct from held.content_hash
            """
        )
        (changed,) = con.execute("select count(*) from _kpi_months_changed").fetchone()
        if changed:
            for table in (SERIES_MONTHS, FINGERPRINTS):
                con.execute(
                    f"delete from {table} "
                    f"where {_in_months('observed_month', '_kpi_months_changed')}"
                )
            for sql in _profile_months("_kpi_months_changed"):
                con.execute(sql)
            con.execute(
                f"""
                insert into {FINGERPRINTS} by name
                select now.*, {PROFILE_VERSION} as profile_version
                from _kpi_months_now as now
                join _kpi_months_changed as c
                    on now.observed_month is not distinct from c.observed_month
                """
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        for table in ("_kpi_months_now", "_kpi_months_changed", "_kpi_series", "_kpi_dated"):
            con.execute(f"drop table if exists {table}")
    return changed


def _stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    if not table_exists(con, *FINGERPRINTS.split(".")):
        return None
    return con.execute(f"select min(profile_version) from {FINGERPRINTS}").fetchone()[0]


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


__all__ = ["FINGERPRINTS", "SERIES_MONTHS", "refresh_series_months", "table_exists"]
