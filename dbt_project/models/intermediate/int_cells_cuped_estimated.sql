-- The cells of int_cells_estimated on the CUPED-adjusted change (int_unit_months_cuped_adjusted).
{{ config(materialized='table') }}

{{ did_cells(ref('int_unit_months_cuped_adjusted')) }}
