-- The unit influences of int_unit_influences_summed on the CUPED-adjusted change.
{{ config(materialized='table') }}

{{ did_unit_influences(ref('int_unit_months_cuped_adjusted'), ref('int_cells_cuped_estimated')) }}
