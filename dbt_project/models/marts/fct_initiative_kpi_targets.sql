-- One row per initiative x KPI: the original target (the first the snapshots saw) beside the
-- current one (the latest they saw), how often and when it moved, whether it was lowered after
-- go-live, and the attributed change measured against both. A value report shows both targets
-- and flags is_target_lowered_after_go_live.
-- Reads the registry snapshots, which need Delta tables on Spark: not built there.
{{ config(enabled=target.type != 'spark') }}

with

initiative_kpis as (

    select * from {{ ref('dim_initiative_kpis') }}

),

initiatives as (

    select * from {{ ref('dim_initiatives') }}

),

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

versions as (

    select * from {{ ref('int_target_versions_compared') }}

),

original as (

    select * from versions
    where version_number = 1

),

latest as (

    select * from versions
    where reverse_version_number = 1

),

change_summary as (

    select
        versions.initiative_id,
        versions.kpi_id,
        sum(case when versions.is_target_change then 1 else 0 end) as n_target_changes,
        max(case when versions.is_target_change then versions.valid_from end)
            as target_last_changed_at,
        max(
            case
                when
                    versions.is_target_change
                    and versions.is_target_lowered
                    and cast(versions.valid_from as date) >= initiatives.first_go_live_on
                    then 1
                else 0
            end
        ) = 1 as is_target_lowered_after_go_live

    from versions
    inner join initiatives
        on versions.initiative_id = initiatives.initiative_id
    group by
        versions.initiative_id,
        versions.kpi_id

),

final as (

    select
        initiative_kpis.initiative_id,
        initiative_kpis.kpi_id,
        initiative_kpis.direction,
        original.target_type as original_target_type,
        cast(original.target_change as {{ type_double() }}) as original_target_change,
        latest.target_type as current_target_type,
        cast(latest.target_change as {{ type_double() }}) as current_target_change,
        cast(original.target_value as {{ type_double() }}) as original_target_value,
        cast(latest.target_value as {{ type_double() }}) as current_target_value,
        cast(coalesce(change_summary.n_target_changes, 0) as integer) as n_target_changes,
        change_summary.target_last_changed_at,
        -- The current target is less ambitious than the original one.
        coalesce(
            case
                when original.target_type = latest.target_type
                    then
                        latest.target_change * latest.favourable_sign
                        < original.target_change * original.favourable_sign
                else
                    latest.target_value * latest.favourable_sign
                    < original.target_value * original.favourable_sign
            end,
            false
        ) as is_target_lowered,
        coalesce(change_summary.is_target_lowered_after_go_live, false)
            as is_target_lowered_after_go_live,
        effects.attributed_change,
        cast(
            effects.attributed_change / nullif(original.target_value, 0) as {{ type_double() }}
        ) as attributed_attainment_of_original,
        cast(
            effects.attributed_change / nullif(latest.target_value, 0) as {{ type_double() }}
        ) as attributed_attainment_of_current

    from initiative_kpis
    left join original
        on
            initiative_kpis.initiative_id = original.initiative_id
            and initiative_kpis.kpi_id = original.kpi_id
    left join latest
        on
            initiative_kpis.initiative_id = latest.initiative_id
            and initiative_kpis.kpi_id = latest.kpi_id
    left join change_summary
        on
            initiative_kpis.initiative_id = change_summary.initiative_id
            and initiative_kpis.kpi_id = change_summary.kpi_id
    left join effects
        on
            initiative_kpis.initiative_id = effects.initiative_id
            and initiative_kpis.kpi_id = effects.kpi_id

)

select * from final
