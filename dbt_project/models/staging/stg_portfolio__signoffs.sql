with

source as (

    select * from {{ source('portfolio', 'signoffs') }}

),

final as (

    select
        cast(signoff_line as integer) as signoff_line,
        cast(signed_at as {{ dbt.type_timestamp() }}) as signed_at,
        signed_by,
        signed_by_email,
        initiative_id,
        kpi_id,
        period,
        cast(report_month as date) as report_month,
        cast(figure_amount as {{ type_double() }}) as figure_amount,
        currency,
        cast(tolerance_relative as {{ type_double() }}) as tolerance_relative,
        comment

    from source

)

select * from final
