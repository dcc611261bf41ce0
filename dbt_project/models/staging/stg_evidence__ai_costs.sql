with

source as (

    select * from {{ source('evidence', 'ai_costs') }}

),

final as (

    select
        trim(source_system) as source_system,
        lower(trim(initiative_id)) as initiative_id,
        {{ month_start('cost_month') }} as cost_month,
        lower(trim(cost_category)) as cost_category,
        cast(amount as {{ type_double() }}) as cost_amount,
        upper(trim(currency)) as currency,
        source_file,
        cast(source_row as bigint) as source_row,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from source

)

select * from final
