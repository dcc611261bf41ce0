with

kpis as (

    select * from {{ ref('stg_portfolio__kpis') }}

),

final as (

    select
        kpi_id,
        kpi_name,
        unit_of_measure,
        aggregation,
        is_higher_better,
        min_value,
        max_value

    from kpis

)

select * from final
