-- The baseline of each distinct window (a unit's KPI, its aggregation, its days and the moment
-- it froze): the observations loaded by then and the late ones apart. int_baselines_frozen gives
-- it to every cohort and unit sharing the window. A window's figures depend only on the rows
-- dated inside it, so a partition run measures again only the windows its months reach and
-- the windows not measured yet; the others keep theirs (macros/observation_months.sql).
{{ incremental_on_partition_runs("{{ delete_remeasured_baseline_windows() }}") }}

with

windows as (

    {{ distinct_baseline_windows() }}

),

-- On a partition run, the windows this table does not hold (after its pre-hook): chosen
-- before the join with the observations, which is the cost.
windows_to_measure as (

    select windows.*

    from windows
    {%- if is_partition_run() %}
        left join {{ this }} as windows_held
            on {{ same_baseline_window('windows', 'windows_held') }}
    where windows_held.kpi_id is null
    {%- endif %}

),

window_observations as (

    {{ baseline_window_observations('windows_to_measure') }}

),

-- One scan of the window join: the kept and the late rows of each window apart.
window_stats as (

    select
        {{ baseline_window_columns() }},
        is_late,
        {{ kpi_mean('aggregation', 'observed_value', 'weight') }} as mean_value,
        stddev_samp(observed_value) as sd_value,
        count(*) as observations,
        max(loaded_at) as last_loaded_at

    from window_observations
    group by
        {{ baseline_window_columns() }},
        is_late

),

final as (

    select
        {{ baseline_window_columns() }},
        max(case when not is_late then mean_value end) as baseline_mean,
        max(case when not is_late then sd_value end) as baseline_sd,
        max(case when not is_late then last_loaded_at end) as baseline_last_loaded_at,
        sum(case when not is_late then observations else 0 end) as baseline_observations,
        sum(case when is_late then observations else 0 end) as late_observations

    from window_stats
    group by
        {{ baseline_window_columns() }}

)

select * from final
