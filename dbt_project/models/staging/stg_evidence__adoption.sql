with

source as (

    select * from {{ source('evidence', 'adoption') }}

),

final as (

    select
        trim(source_system) as source_system,
        lower(trim(initiative_id)) as initiative_id,
        lower(trim(unit_id)) as unit_id,
        cast(observed_on as date) as observed_on,
        cast(active_users as bigint) as active_users,
        cast(eligible_users as bigint) as eligible_users,
        cast(active_users as {{ type_double() }})
        / nullif(cast(eligible_users as {{ type_double() }}), 0) as adoption_rate,
        source_file,
        cast(source_row as bigint) as source_row,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from source

)

select * from final
