-- Every observation dated inside a baseline window, once per distinct window of a unit (its KPI,
-- days and the moment it froze), marked late when it was loaded after the baseline froze. Late
-- rows never move a baseline (int_baselines_frozen leaves them out); fct_late_baseline_evidence
-- lists them. Keyed by window, not by cohort: a control unit is a candidate for every cohort of
-- its KPI and cloned or co-launched initiatives share windows, so per cohort the same days would
-- be joined and stored again for each (at 50M observations, about a billion rows).
-- A view: int_baselines_frozen aggregates it and fct_late_baseline_evidence keeps its late rows.
{{ config(materialized='view') }}

with

windows as (

    {{ distinct_baseline_windows() }}

),

final as (

    {{ baseline_window_observations('windows') }}

)

select * from final
