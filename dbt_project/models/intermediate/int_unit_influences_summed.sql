-- Each unit's influence on an estimate, whose sum of squares is the unit-clustered (CR2)
-- variance (macros/did_unit_influences.sql), for the plain and the CUPED-adjusted estimate.
-- A table, not a view: several models read it, and at scale it should be computed once.
-- A partition run rebuilds the overall estimand (normalised over all months) and only the event
-- months its months or moved baselines reach (macros/observation_months.sql): the 22M event
-- month rows at 50M observations were most of the cost.
-- depends_on: {{ ref('int_rollout_cohorts_formed') }}
{{ incremental_on_partition_runs("{{ delete_rebuilt_unit_influences() }}") }}

{{ did_unit_influences(
    ref('int_unit_months_differenced'),
    ref('int_cells_estimated'),
    moved_baselines_relation(ref('int_unit_months_differenced')) if is_partition_run() else none,
) }}
