-- One row per change of an initiative x KPI target in the registry: from, to, when (the build
-- that saw it, UTC), whether it lowered the target (less ambitious) and whether that happened
-- on or after the initiative's first go-live, when the results were already coming in.
-- Reads the registry snapshots, which need Delta tables on Spark: not built there.
{{ config(enabled=target.type != 'spark') }}

with

versions as (

    select * from {{ ref('int_target_versions_compared') }}
    where is_target_change

),

initiatives as (

    select * from {{ ref('dim_initiatives') }}

),

final as (

    select
        versions.initiative_id,
        versions.kpi_id,
        versions.valid_from as changed_at,
        cast(versions.valid_from as date) as changed_on,
        versions.previous_target_type as target_type_from,
        cast(versions.previous_target_change as {{ type_double() }}) as target_change_from,
        versions.target_type as target_type_to,
        cast(versions.target_change as {{ type_double() }}) as target_change_to,
        cast(versions.previous_target_value as {{ type_double() }}) as target_value_from,
        cast(versions.target_value as {{ type_double() }}) as target_value_to,
        versions.is_target_lowered,
        initiatives.first_go_live_on,
        coalesce(
            cast(versions.valid_from as date) >= initiatives.first_go_live_on, false
        ) as is_after_go_live,
        coalesce(
            versions.is_target_lowered
            and cast(versions.valid_from as date) >= initiatives.first_go_live_on,
            false
        ) as is_target_lowered_after_go_live

    from versions
    inner join initiatives
        on versions.initiative_id = initiatives.initiative_id

)

select * from final
