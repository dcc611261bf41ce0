-- Each unit's influence on an estimate, whose sum of squares is the unit-clustered (CR2)
-- variance (macros/did_unit_influences.sql), for the plain and the CUPED-adjusted estimate.
-- A table, not a view: several models read it, and at scale it should be computed once.
{{ config(materialized='table') }}

{{ did_unit_influences(ref('int_unit_months_differenced'), ref('int_cells_estimated')) }}
