with

source as (

    select * from {{ source('portfolio', 'initiatives') }}

),

final as (

    select
        initiative_id,
        initiative_name,
        business_unit,
        owner as owner_name,
        priority,
        strategic_theme,
        current_stage,
        cast(current_stage_entered_on as date) as current_stage_entered_on,
        cast(budget_amount as {{ type_double() }}) as budget_amount,
        currency,
        cast(baseline_days as integer) as baseline_days,
        cast(ramp_up_days as integer) as ramp_up_days,
        cast(min_observations as integer) as min_observations,
        cast(baseline_grace_days as integer) as baseline_grace_days,
        cast(horizon_months as integer) as horizon_months,
        cast(run_rate_months as integer) as run_rate_months,
        cast(adoption_window_days as integer) as adoption_window_days

    from source

)

select * from final
