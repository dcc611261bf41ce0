"""The frames the evidence suites validate, aggregated in DuckDB from the warehouse.

GX validates pandas frames here (its SQL engine has open bugs with duckdb-engine), so the raw
tables are never pulled into pandas: each frame has one row per entity a check judges (source
system, KPI x unit, initiative x KPI, ...), a few hundred rows at sample size and a few
thousand at millions of observations. Ids are compared in lower case, as dbt's staging reads
them. Columns named `source_system`, `initiative_id`, `kpi_id`, `unit_id` identify the entity;
`kpi_ids` (a list) names the KPIs a source-level row concerns.
"""

import datetime as dt

import duckdb
import pandas as pd

from assets.quality.series_months import (
    QUALITY_SCHEMA,
    SERIES_MONTHS,
    refresh_series_months,
    table_exists,
)
from assets.quality.suites import FRAMES, LEVEL_RATIO_LIMITS
from sources.contracts import EVIDENCE_CONTRACTS, RAW_SCHEMA

RESULTS_TABLE = f"{QUALITY_SCHEMA}.evidence_checks"
# The date column of each evidence table, for freshness and date ranges.
DATE_COLUMN = {
    "kpi_observations": "observed_on",
    "ai_costs": "cost_month",
    "adoption": "observed_on",
}
# Gaps: a series may pause for this many days, or this many of its usual intervals.
GAP_MIN_DAYS, GAP_INTERVALS = 7, 3


def _ids(*cols: str) -> str:
    return ", ".join(f"lower(trim({c})) as {c}" for c in cols)


def _missing(table: str) -> str:
    """SQL count of rows missing a required contract or lineage column."""
    return f"count(*) filter (where {EVIDENCE_CONTRACTS[table].missing_required_sql()})"


def evidence_columns(con: duckdb.DuckDBPyConnection) -> str:
    expected = ", ".join(
        f"('{t}', '{c.name}', '{c.sql_type.upper()}')"
        for t, contract in EVIDENCE_CONTRACTS.items()
        for c in contract.columns
    )
    return f"""
        with expected (table_name, column_name, expected_type) as (values {expected}),
        actual as (
            select table_name, column_name, upper(data_type) as actual_type
            from information_schema.columns where table_schema = '{RAW_SCHEMA}'
        )
        select e.table_name, e.column_name, e.expected_type,
            coalesce(a.actual_type, 'MISSING') as actual_type
        from expected as e left join actual as a using (table_name, column_name)
        order by all
    """


def kpi_observations_profile(con) -> str:
    return f"""
        with g as (
            select source_system, kpi_id, unit_id,
                sum(n_rows)::bigint as n_rows,
                sum(n_duplicate_grain)::bigint as n_duplicate_grain,
                sum(n_missing_required)::bigint as n_missing_required,
                min(value_min) as value_min, max(value_max) as value_max,
                min(weight_min) as weight_min,
                min(first_date)::timestamp as first_date,
                max(last_date)::timestamp as last_date
            from {SERIES_MONTHS} group by all
        )
        select g.*, k.min_value as kpi_min, k.max_value as kpi_max,
            k.kpi_id is not null as is_known_kpi, u.unit_id is not null as is_known_unit
        from g
        left join {RAW_SCHEMA}.portfolio_kpis as k on g.kpi_id = k.kpi_id
        left join {RAW_SCHEMA}.portfolio_units as u on g.unit_id = u.unit_id
        order by all
    """


def ai_costs_profile(con) -> str:
    return f"""
        with o as (
            select * exclude (initiative_id), {_ids("initiative_id")}
            from {RAW_SCHEMA}.ai_costs
        ),
        g as (
            select source_system, initiative_id, upper(currency) as currency,
                count(*) as n_rows,
                count(*) - count(distinct (cost_month, lower(cost_category))) as n_duplicate_grain,
                {_missing("ai_costs")} as n_missing_required,
                min(cost_month)::timestamp as first_month,
                max(cost_month)::timestamp as last_month
            from o group by all
        )
        select g.*, i.initiative_id is not null as is_known_initiative
        from g left join {RAW_SCHEMA}.portfolio_initiatives as i using (initiative_id)
        order by all
    """


def adoption_profile(con) -> str:
    return f"""
        with o as (
            select * exclude (initiative_id, unit_id), {_ids("initiative_id", "unit_id")}
            from {RAW_SCHEMA}.adoption
        ),
        g as (
            select source_system, initiative_id, unit_id,
                count(*) as n_rows,
                count(*) - count(distinct observed_on) as n_duplicate_grain,
                {_missing("adoption")} as n_missing_required,
                max(active_users - eligible_users) as max_excess_users,
                least(min(active_users), min(eligible_users)) as min_users,
                min(observed_on)::timestamp as first_date,
                max(observed_on)::timestamp as last_date
            from o group by all
        )
        select g.*, i.initiative_id is not null as is_known_initiative,
            u.unit_id is not null as is_known_unit
        from g
        left join {RAW_SCHEMA}.portfolio_initiatives as i using (initiative_id)
        left join {RAW_SCHEMA}.portfolio_units as u using (unit_id)
        order by all
    """


def evidence_sources(con) -> str:
    """Per table and source system: what its latest loads read and quarantined, rejected
    files, rows now against the last run in which the volume check passed, freshness."""
    parts = []
    for table, date_col in DATE_COLUMN.items():
        kpis = (
            "list(distinct lower(kpi_id) order by lower(kpi_id))"
            if table == "kpi_observations"
            else "[]::varchar[]"
        )
        parts.append(
            f"select '{table}' as table_name, source_system, count(*) as rows_in_table, "
            f"max({date_col}) as last_date, {kpis} as kpi_ids "
            f"from {RAW_SCHEMA}.{table} group by source_system"
        )
    history = (
        f"""
        select table_name, source_system, arg_max(observed_value, checked_at) as previous
        from {RESULTS_TABLE}
        where check_name = 'evidence_volume' and not is_check_summary and status = 'pass'
        group by all
        """
        if table_exists(con, QUALITY_SCHEMA, "evidence_checks")
        else "select null::varchar as table_name, null::varchar as source_system, "
        "null::double as previous where false"
    )
    return f"""
        with present as ({" union all ".join(parts)}),
        latest as (
            select * from {RAW_SCHEMA}.load_log
            qualify row_number() over (
                partition by target_table, source_file order by loaded_at desc) = 1
        ),
        loads as (
            select target_table as table_name, source_system, count(*) as files,
                sum(rows_read)::bigint as rows_read,
                sum(rows_quarantined)::bigint as rows_quarantined
            from latest group by all
        ),
        rejected as (
            select target_table as table_name, source_system,
                count(distinct source_file) as files_rejected,
                string_agg(distinct source_file, ', ') as rejected_files
            from {RAW_SCHEMA}.quarantine where source_row is null group by all
        ),
        systems as (
            select table_name, source_system from present
            union select table_name, source_system from loads
            union select table_name, source_system from rejected
        ),
        history as ({history})
        select s.table_name, s.source_system,
            coalesce(l.files, 0) + coalesce(r.files_rejected, 0) as files,
            coalesce(r.files_rejected, 0) as files_rejected,
            coalesce(r.rejected_files, '') as rejected_files,
            coalesce(l.rows_read, 0) as rows_read,
            coalesce(l.rows_quarantined, 0) as rows_quarantined,
            coalesce(l.rows_quarantined, 0) / greatest(coalesce(l.rows_read, 0), 1)
                as quarantine_share,
            coalesce(p.rows_in_table, 0) as rows_in_table,
            h.previous as rows_last_passing_run,
            coalesce(p.rows_in_table, 0) / nullif(h.previous, 0) as volume_ratio,
            p.last_date::timestamp as last_date,
            (max(p.last_date) over (partition by s.table_name))::timestamp as newest_date,
            date_diff('day', p.last_date, max(p.last_date) over (partition by s.table_name))
                as lag_days,
            coalesce(p.kpi_ids, []::varchar[]) as kpi_ids
        from systems as s
        left join present as p using (table_name, source_system)
        left join loads as l using (table_name, source_system)
        left join rejected as r using (table_name, source_system)
        left join history as h using (table_name, source_system)
        order by all
    """


def kpi_observation_gaps(con) -> str:
    """Per series: its usual interval (the median gap between consecutive dates) and its
    longest gap. The stored months hold their own gaps; the gap across a month boundary runs
    from a month's last date to the next month's first."""
    return f"""
        with months as (
            select *,
                lag(last_date) over (
                    partition by source_system, kpi_id, unit_id order by observed_month
                ) as previous_last
            from {SERIES_MONTHS}
            where observed_month is not null
        ),
        crossing as (
            select source_system, kpi_id, unit_id, previous_last as gap_from,
                first_date as gap_to, date_diff('day', previous_last, first_date) as gap_days
            from months where previous_last is not null
        ),
        histogram as (
            select source_system, kpi_id, unit_id, gap_days, sum(n_gaps) as n_gaps
            from (
                select source_system, kpi_id, unit_id, g.gap_days, g.n_gaps
                from (select *, unnest(gaps) as g from months)
                union all
                select source_system, kpi_id, unit_id, gap_days, 1 from crossing
            )
            group by all
        ),
        ranked as (
            select *,
                sum(n_gaps) over (
                    partition by source_system, kpi_id, unit_id order by gap_days
                    rows between unbounded preceding and current row
                ) as n_up_to,
                sum(n_gaps) over (partition by source_system, kpi_id, unit_id) as n_total
            from histogram
        ),
        -- The median of the gaps from their histogram: the mean of the gaps at the two middle
        -- positions (0-based (n - 1) // 2 and n // 2), as median() over the gaps gives.
        typical as (
            select source_system, kpi_id, unit_id,
                (min(gap_days) filter (where n_up_to > (n_total - 1) // 2)
                    + min(gap_days) filter (where n_up_to > n_total // 2)) / 2
                    as typical_gap_days
            from ranked group by all
        ),
        longest as (
            select source_system, kpi_id, unit_id, max(gap_days) as longest_gap_days,
                -- The earliest of equally long gaps (arg_max alone returns any of them).
                arg_min(gap_from, (-gap_days, gap_to)) as gap_from,
                arg_min(gap_to, (-gap_days, gap_to)) as gap_to
            from (
                select source_system, kpi_id, unit_id, longest_gap_days as gap_days,
                    gap_from, gap_to
                from months where longest_gap_days is not null
                union all
                select source_system, kpi_id, unit_id, gap_days, gap_from, gap_to from crossing
            )
            group by all
        )
        select t.source_system, t.kpi_id, t.unit_id, t.typical_gap_days,
            l.longest_gap_days, l.gap_from, l.gap_to,
            greatest({GAP_MIN_DAYS}, {GAP_INTERVALS} * t.typical_gap_days) as allowed_gap_days
        from typical as t join longest as l using (source_system, kpi_id, unit_id)
        order by all
    """


def kpi_observation_levels(con) -> str:
    """Per series: its monthly medians against its usual level (months with 5+ observations),
    the lowest and highest ratio, and the months outside LEVEL_RATIO_LIMITS with their ratio.
    One row per series, not per month: 1.7M rows at 50M observations cost seconds in pandas
    and GX for a check whose entity is the series. The usual level is the median of the
    monthly medians, each month counting once, so a long month does not pull it and a run
    recomputes only the months that changed."""
    low, high = LEVEL_RATIO_LIMITS
    return f"""
        with m as (
            select *,
                median(month_median) over (partition by source_system, kpi_id, unit_id)
                    as unit_median
            from {SERIES_MONTHS}
            -- Series with a missing id are left out: they fail the profile's checks instead.
            where source_system is not null and kpi_id is not null and unit_id is not null
        ),
        ratios as (
            select *,
                case when unit_median > 0 and n_rows >= 5 then month_median / unit_median end
                    as level_ratio
            from m
        )
        select source_system, kpi_id, unit_id, unit_median,
            min(level_ratio) as min_level_ratio, max(level_ratio) as max_level_ratio,
            count(*) filter (where level_ratio < {low} or level_ratio > {high})
                as n_shifted_months,
            coalesce(string_agg(
                strftime(observed_month, '%Y-%m') || ' (median ' || month_median || ', '
                    || round(level_ratio, 2) || 'x)', ', ' order by observed_month
            ) filter (where level_ratio < {low} or level_ratio > {high}), '') as shifted_months
        from ratios
        group by all
        order by all
    """


def _live_units(today: dt.date) -> str:
    """Rollouts live on `today`, with their initiative's KPIs and baseline window."""
    return f"""
        select r.initiative_id, ik.kpi_id, r.unit_id, r.go_live_on,
            r.go_live_on - i.baseline_days as baseline_from, i.min_observations
        from {RAW_SCHEMA}.portfolio_rollout as r
        join {RAW_SCHEMA}.portfolio_initiatives as i using (initiative_id)
        join {RAW_SCHEMA}.portfolio_initiative_kpis as ik using (initiative_id)
        where r.go_live_on <= date '{today.isoformat()}'
    """


def baseline_coverage(con, today: dt.date) -> str:
    return f"""
        with live as ({_live_units(today)}),
        o as (
            select {_ids("kpi_id", "unit_id")}, observed_on, value
            from {RAW_SCHEMA}.kpi_observations
        ),
        per_unit as (
            select l.initiative_id, l.kpi_id, l.unit_id, l.min_observations,
                count(o.value) as n_baseline
            from live as l
            left join o on o.kpi_id = l.kpi_id and o.unit_id = l.unit_id
                and o.observed_on >= l.baseline_from and o.observed_on < l.go_live_on
            group by all
        )
        select initiative_id, kpi_id, min(min_observations) as min_observations,
            count(*) as n_live_units,
            count(*) filter (where n_baseline >= min_observations) as n_units_covered,
            coalesce(string_agg(unit_id || ' (' || n_baseline || ')', ', ' order by unit_id)
                filter (where n_baseline < min_observations), '') as uncovered
        from per_unit group by all order by all
    """


def late_for_frozen_baseline(con, today: dt.date) -> str:
    """Rows dated inside a live unit's baseline window that were loaded after the baseline
    froze: at the later of its go-live and the first load of any row of the window. The rows
    are counted per load and file first: a window over every row of the windows (3M at 50M
    observations) cost twice the whole query."""
    return f"""
        with live as ({_live_units(today)}),
        loads as (
            select l.initiative_id, l.kpi_id, l.unit_id, l.go_live_on, o.loaded_at,
                o.source_file, count(*) as n_rows, min(o.observed_on) as first_date,
                max(o.observed_on) as last_date
            from live as l
            join {RAW_SCHEMA}.kpi_observations as o
                on lower(trim(o.kpi_id)) = l.kpi_id and lower(trim(o.unit_id)) = l.unit_id
                and o.observed_on >= l.baseline_from and o.observed_on < l.go_live_on
            group by all
        ),
        w as (
            select *, greatest(min(loaded_at) over (
                    partition by initiative_id, kpi_id, unit_id), go_live_on::timestamp)
                    as frozen_at
            from loads
        )
        select initiative_id, kpi_id, unit_id, go_live_on::timestamp as go_live_on,
            min(frozen_at) as frozen_at,
            coalesce(sum(n_rows) filter (where loaded_at > frozen_at), 0)::bigint as n_late_rows,
            min(first_date) filter (where loaded_at > frozen_at) as first_late_date,
            max(last_date) filter (where loaded_at > frozen_at) as last_late_date,
            coalesce(string_agg(distinct source_file, ', ')
                filter (where loaded_at > frozen_at), '') as late_files
        from w group by all order by all
    """


def quarantined_rows(con) -> str:
    """Quarantined rows per entity (KPI x unit, initiative x unit, initiative), with the rows
    loaded for it; rows whose ids could not be read count for their source system."""
    loaded = " union all ".join(
        f"select '{t}' as table_name, source_system, "
        + ", ".join(
            f"lower(trim({c})) as {c}" if c in cols else f"null::varchar as {c}"
            for c in ("initiative_id", "kpi_id", "unit_id")
        )
        + f" from {RAW_SCHEMA}.{t}"
        # Only the source systems with quarantined rows: the loaded rows of the others are
        # never looked up, and counting them read every table in full (2 s at 50M rows).
        + f" where source_system in (select source_system from {RAW_SCHEMA}.quarantine"
        + f" where target_table = '{t}' and source_row is not null)"
        for t, cols in (
            (t, {c.name for c in contract.columns}) for t, contract in EVIDENCE_CONTRACTS.items()
        )
    )
    return f"""
        with q as (
            select target_table as table_name, source_system, lower(trim(initiative_id))
                as initiative_id, lower(trim(kpi_id)) as kpi_id, lower(trim(unit_id)) as unit_id,
                source_file, source_row, reason
            from {RAW_SCHEMA}.quarantine where source_row is not null
        ),
        qg as (
            select table_name, source_system, initiative_id, kpi_id, unit_id,
                count(*) as n_quarantined,
                string_agg(distinct left(reason, 240), ' | ') as reasons,
                string_agg(source_file || ':' || source_row, ', ' order by source_file, source_row)
                    as lines
            from q group by all
        ),
        lg as (
            select table_name, source_system, initiative_id, kpi_id, unit_id,
                count(*) as n_loaded
            from ({loaded}) group by all
        ),
        source_kpis as (
            select source_system, list(distinct lower(kpi_id) order by lower(kpi_id)) as kpi_ids
            from {RAW_SCHEMA}.kpi_observations group by all
        )
        select qg.*, coalesce(lg.n_loaded, 0) as n_loaded,
            qg.n_quarantined + coalesce(lg.n_loaded, 0) as n_read,
            -- A share only for an entity the registry knows: rows of an unknown unit or KPI,
            -- or lines that could not be read, count in the source's share instead.
            case when coalesce(qg.initiative_id, qg.kpi_id, qg.unit_id) is not null
                and (qg.initiative_id is null or qg.initiative_id in (
                    select initiative_id from {RAW_SCHEMA}.portfolio_initiatives))
                and (qg.kpi_id is null or qg.kpi_id in (
                    select kpi_id from {RAW_SCHEMA}.portfolio_kpis))
                and (qg.unit_id is null or qg.unit_id in (
                    select unit_id from {RAW_SCHEMA}.portfolio_units))
            then qg.n_quarantined / (qg.n_quarantined + coalesce(lg.n_loaded, 0))
            end as quarantine_share,
            concat_ws(' ', qg.initiative_id, qg.kpi_id, qg.unit_id) as ids,
            case when qg.table_name = 'kpi_observations' and qg.kpi_id is null
                then coalesce(sk.kpi_ids, []::varchar[]) else []::varchar[] end as kpi_ids
        from qg
        left join lg on lg.table_name = qg.table_name and lg.source_system = qg.source_system
            and lg.initiative_id is not distinct from qg.initiative_id
            and lg.kpi_id is not distinct from qg.kpi_id
            and lg.unit_id is not distinct from qg.unit_id
        left join source_kpis as sk on sk.source_system = qg.source_system
        order by all
    """


def evidence_age(con, today: dt.date) -> str:
    return f"""
        select max(observed_on)::timestamp as newest_date,
            date '{today.isoformat()}'::timestamp as today,
            date_diff('day', max(observed_on), date '{today.isoformat()}') as age_days
        from {RAW_SCHEMA}.kpi_observations
        having count(*) > 0
    """


BUILDERS = {
    "evidence_columns": evidence_columns,
    "kpi_observations_profile": kpi_observations_profile,
    "ai_costs_profile": ai_costs_profile,
    "adoption_profile": adoption_profile,
    "evidence_sources": evidence_sources,
    "kpi_observation_gaps": kpi_observation_gaps,
    "kpi_observation_levels": kpi_observation_levels,
    "baseline_coverage": baseline_coverage,
    "late_for_frozen_baseline": late_for_frozen_baseline,
    "quarantined_rows": quarantined_rows,
    "evidence_age": evidence_age,
}
NEEDS_TODAY = {"baseline_coverage", "late_for_frozen_baseline", "evidence_age"}
FROM_SERIES_MONTHS = {"kpi_observations_profile", "kpi_observation_gaps", "kpi_observation_levels"}
assert set(BUILDERS) == set(FRAMES), set(BUILDERS) ^ set(FRAMES)


def profile_frames(
    con: duckdb.DuckDBPyConnection, today: dt.date
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Every frame the suites validate, computed in DuckDB (the raw and portfolio tables must
    exist: the evidence and registry assets run first), and the frames that could not be
    computed with the reason (a table whose columns changed: its checks fail, they never
    pass unseen). The KPI series frames read the stored series months, brought up to date
    first (series_months.py)."""
    frames, errors = {}, {}
    try:
        refresh_series_months(con)
        series_error = None
    except duckdb.Error as exc:
        series_error = str(exc).splitlines()[0]  # the error of each frame reading them
    for name, build in BUILDERS.items():
        if name in FROM_SERIES_MONTHS and series_error:
            errors[name], frames[name] = series_error, pd.DataFrame()
            continue
        sql = build(con, today) if name in NEEDS_TODAY else build(con)
        try:
            frames[name] = con.execute(sql).df()
        except duckdb.Error as exc:
            errors[name] = str(exc).splitlines()[0]
            frames[name] = pd.DataFrame()
    return frames, errors


def check_parameters(con: duckdb.DuckDBPyConnection, today: dt.date) -> dict:
    """The suite parameters ($PARAMETER) of a run: today and the registry's settings."""
    try:
        currency, starts = con.execute(
            f"select currency, data_starts_on from {RAW_SCHEMA}.portfolio_settings"
        ).fetchone()
    except (duckdb.CatalogException, TypeError):
        raise RuntimeError(
            f"the evidence gates need the registry in {RAW_SCHEMA}.portfolio_settings; "
            "materialise the portfolio registry first"
        ) from None
    return {
        "today": dt.datetime.combine(today, dt.time()),
        "data_starts_on": dt.datetime.combine(starts, dt.time()),
        "currencies": [currency],
    }


__all__ = ["QUALITY_SCHEMA", "RESULTS_TABLE", "check_parameters", "profile_frames"]
