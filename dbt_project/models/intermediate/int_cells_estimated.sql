-- One row per cohort x calendar month: the difference-in-differences of the cell, identified
-- with at least 2 treated and 2 control units (macros/did_cells.sql), with each group's mean
-- frozen baseline for the CUPED-adjusted twin (fct_initiative_kpi_adjusted_effects).
-- A table, not a view: several models read it, and at scale it should be computed once.
{{ config(materialized='table') }}

{{ did_cells(ref('int_unit_months_differenced')) }}
