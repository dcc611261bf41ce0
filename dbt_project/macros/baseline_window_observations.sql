{#
    Every observation dated inside each of `windows` (a relation of distinct windows: kpi_id,
    unit_id, aggregation, baseline_starts_on, baseline_ends_on, baseline_frozen_at), marked
    late when it was loaded after the baseline froze. One place for the window join:
    int_baseline_window_observations (every window) and int_baseline_windows_measured (on a
    partition run, only the windows it measures again) both use it.
#}
{# The columns that name a baseline window. The one place for them: the distinct windows, the
   grouping and the joins of the measured windows and the delete hook all render this list, so
   a column added here cannot be missed in one of them (which would keep stale windows). #}
{% macro baseline_window_key() -%}
    {{ return([
        'kpi_id', 'unit_id', 'aggregation',
        'baseline_starts_on', 'baseline_ends_on', 'baseline_frozen_at',
    ]) }}
{%- endmacro %}

{# The key columns as a list for a select or a group by, qualified by `relation` when given. #}
{% macro baseline_window_columns(relation=none) -%}
    {%- for column in baseline_window_key() -%}
        {{ relation ~ '.' if relation }}{{ column }}{{ ',\n    ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{# SQL condition: `left` and `right` name the same window. #}
{% macro same_baseline_window(left, right) -%}
    {%- for column in baseline_window_key() -%}
        {{ left }}.{{ column }} = {{ right }}.{{ column }}{{ '\n        and ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{# The distinct windows of the cohorts' units (int_baseline_units_selected): many cohorts and
   units share one (a control unit is a candidate for every cohort of its KPI). #}
{% macro distinct_baseline_windows() %}
select distinct
    {{ baseline_window_columns() }}

from {{ ref('int_baseline_units_selected') }}
{% endmacro %}

{% macro baseline_window_observations(windows) %}
select
    {{ baseline_window_columns('windows') }},
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
