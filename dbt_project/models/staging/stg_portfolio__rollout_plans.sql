with

source as (

    select * from {{ source('portfolio', 'rollout_plans') }}

),

final as (

    select
        initiative_id,
        plan_method,
        cast(plan_seed as bigint) as plan_seed,
        cast(planned_on as date) as planned_on,
        kpi_id,
        cast(size_buckets as integer) as size_buckets,
        cast(n_strata as integer) as n_strata,
        cast(n_waves as integer) as n_waves,
        cast(n_planned_units as integer) as n_planned_units,
        cast(n_planned_controls as integer) as n_planned_controls,
        mde_estimator,
        cast(mde_value as {{ type_double() }}) as mde_value,
        cast(mde_relative as {{ type_double() }}) as mde_relative,
        cast(mde_standard_error as {{ type_double() }}) as mde_standard_error,
        cast(mde_degrees_of_freedom as {{ type_double() }}) as mde_degrees_of_freedom,
        cast(mde_alpha as {{ type_double() }}) as mde_alpha,
        cast(mde_power as {{ type_double() }}) as mde_power,
        cast(mde_end_month as date) as mde_end_month

    from source

)

select * from final
