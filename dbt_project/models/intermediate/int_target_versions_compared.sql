{#-
    Every version of every initiative x KPI target in the registry snapshot, next to the version
    before it, both in the KPI's unit and signed so that a larger number is a more ambitious
    target (favourable). A relative target is converted with the treated units' baseline
    (fct_initiative_kpi_effects.baseline_value); when two versions share a type they are compared
    as given, so no baseline is needed.
-#}
{{ config(enabled=target.type != 'spark') }}

with

snapshot as (

    select * from {{ ref('snap_portfolio__initiative_kpis') }}
    where coalesce(dbt_is_deleted, 'False') != 'True'

),

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

versions as (

    select
        snapshot.initiative_id,
        snapshot.kpi_id,
        snapshot.direction,
        snapshot.target_type,
        snapshot.target_change,
        cast(snapshot.dbt_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
        case when snapshot.direction = 'increase' then 1 else -1 end as favourable_sign,
        case
            when snapshot.target_type = 'relative'
                then snapshot.target_change * effects.baseline_value
            else snapshot.target_change
        end as target_value,
        row_number() over (
            partition by snapshot.initiative_id, snapshot.kpi_id
            order by snapshot.dbt_valid_from
        ) as version_number,
        row_number() over (
            partition by snapshot.initiative_id, snapshot.kpi_id
            order by snapshot.dbt_valid_from desc
        ) as reverse_version_number

    from snapshot
    left join effects
        on
            snapshot.initiative_id = effects.initiative_id
            and snapshot.kpi_id = effects.kpi_id

),

compared as (

    select
        *,
        lag(target_type) over (
            partition by initiative_id, kpi_id order by valid_from
        ) as previous_target_type,
        lag(target_change) over (
            partition by initiative_id, kpi_id order by valid_from
        ) as previous_target_change,
        lag(target_value) over (
            partition by initiative_id, kpi_id order by valid_from
        ) as previous_target_value,
        lag(favourable_sign) over (
            partition by initiative_id, kpi_id order by valid_from
        ) as previous_favourable_sign

    from versions

),

final as (

    select
        *,
        version_number > 1
        and (
            target_type != previous_target_type
            or target_change != previous_target_change
        ) as is_target_change,
        -- Less ambitious than the version before: a smaller favourable target.
        case
            when version_number = 1 then false
            when target_type = previous_target_type
                then
                    target_change * favourable_sign
                    < previous_target_change * previous_favourable_sign
            else
                target_value * favourable_sign
                < previous_target_value * previous_favourable_sign
        end as is_target_lowered

    from compared

)

select * from final
