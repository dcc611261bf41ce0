-- The unit-clustered (CR2) variance of each event-month estimate: the units' influences on it
-- (macros/did_unit_influences.sql), squared and summed per initiative x KPI x event month.
-- A partition run rebuilds only the event months its months or moved baselines reach
-- (macros/observation_months.sql).
-- depends_on: {{ ref('int_rollout_cohorts_formed') }}
{{ incremental_on_partition_runs("{{ delete_rebuilt_event_month_variances() }}") }}

{{ did_unit_influences(
    ref('int_unit_months_differenced'),
    ref('int_cells_estimated'),
    'event_month',
    moved_baselines_relation(ref('int_unit_months_differenced')) if is_partition_run() else none,
) }}
