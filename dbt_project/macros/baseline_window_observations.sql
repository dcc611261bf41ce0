{#
    Every observation dated inside each of `windows` (a relation of distinct windows: kpi_id,
    unit_id, aggregation, baseline_starts_on, baseline_ends_on, baseline_frozen_at), marked
    late when it was loaded after the baseline froze. One place for the window join:
    int_baseline_window_observations (every window) and int_baseline_windows_measured (on a
    partition run, only the windows it measures again) both use it.
#}
{# The distinct windows of the cohorts' units (int_baseline_units_selected): many cohorts and
   units share one (a control unit is a candidate for every cohort of its KPI). #}
{% macro distinct_baseline_windows() %}
select distinct
    kpi_id,
    unit_id,
    aggregation,
    baseline_starts_on,
    baseline_ends_on,
    baseline_frozen_at

from {{ ref('int_baseline_units_selected') }}
{% endmacro %}

{% macro baseline_window_observations(windows) %}
select
    windows.kpi_id,
    windows.unit_id,
    windows.aggregation,
    windows.baseline_starts_on,
    windows.baseline_ends_on,
    windows.baseline_frozen_at,
    observations.source_system,
    observations.observed_on,
    observations.observed_value,
    observations.weight,
    observations.source_file,
    observations.source_row,
    observations.loaded_at,
    observations.loaded_at > windows.baseline_frozen_at as is_late

from {{ windows }} as windows
inner join {{ ref('stg_evidence__kpi_observations') }} as observations
    on
        windows.kpi_id = observations.kpi_id
        and windows.unit_id = observations.unit_id
        and windows.baseline_starts_on <= observations.observed_on
        and windows.baseline_ends_on >= observations.observed_on
-- Only the days some window spans: when a partition run measures a few recent windows (or
-- none), the join then reads a slice of the observations instead of building on all of them.
where
    observations.observed_on >= (select min(w.baseline_starts_on) from {{ windows }} as w)
    and observations.observed_on <= (select max(w.baseline_ends_on) from {{ windows }} as w)
{% endmacro %}
