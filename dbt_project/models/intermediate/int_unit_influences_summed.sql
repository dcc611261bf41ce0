-- Each unit's influence on the overall estimate, whose sum of squares is the unit-clustered
-- (CR2) variance (macros/did_unit_influences.sql), for the plain and the CUPED-adjusted estimate.
-- A table, not a view: several models read it, and at scale it should be computed once.
-- The overall estimand is normalised over all months, so a partition run rebuilds it in full
-- (1.5M rows at 50M observations); the event months are int_event_month_variances_summed.
{{ config(materialized='table') }}

{{ did_unit_influences(
    ref('int_unit_months_differenced'),
    ref('int_cells_estimated'),
    'overall',
) }}
