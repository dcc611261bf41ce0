with

source as (

    select * from {{ source('portfolio', 'rollout_plan_units') }}

),

final as (

    select
        initiative_id,
        unit_id,
        stratum,
        cast(wave_number as integer) as wave_number,
        cast(planned_go_live_on as date) as planned_go_live_on,
        wave_number is null as is_planned_control

    from source

)

select * from final
