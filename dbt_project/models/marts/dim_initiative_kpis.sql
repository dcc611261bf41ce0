with

initiative_kpis as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

final as (

    select
        initiative_id,
        kpi_id,
        direction,
        target_type,
        target_change,
        value_per_unit,
        value_driver,
        is_cash

    from initiative_kpis

)

select * from final
