-- One row per initiative x stage it entered: when it entered and left, days spent there (to
-- the as-of date for the current stage), and the time allowed before the gate out of it
-- (registry max_days_in_stage): is_over_limit marks a stage overstayed, is_stuck the current
-- one (for example a pilot that never reached production).
with

stages as (

    select * from {{ ref('stg_portfolio__stages') }}

),

initiatives as (

    select * from {{ ref('stg_portfolio__initiatives') }}

),

criteria as (

    select * from {{ ref('stg_portfolio__gate_criteria') }}
    where criterion = 'max_days_in_stage'

),

as_of as (

    select * from {{ ref('int_as_of_dates_chosen') }}

),

-- A stage ends when a later stage is entered (killed included).
exits as (

    select
        earlier.initiative_id,
        earlier.stage,
        min(later.entered_on) as exited_on

    from stages as earlier
    inner join stages as later
        on
            earlier.initiative_id = later.initiative_id
            and earlier.stage_order < later.stage_order
    group by
        earlier.initiative_id,
        earlier.stage

),

joined as (

    select
        stages.initiative_id,
        stages.stage,
        stages.stage_order,
        stages.entered_on,
        exits.exited_on,
        criteria.threshold as max_days_in_stage,
        stages.stage = initiatives.current_stage as is_current,
        case
            when exits.exited_on is not null
                then {{ dbt.datediff('stages.entered_on', 'exits.exited_on', 'day') }}
            when stages.entered_on <= as_of.as_of_date
                then {{ dbt.datediff('stages.entered_on', 'as_of.as_of_date', 'day') }}
            else 0
        end as days_in_stage

    from stages
    inner join initiatives
        on stages.initiative_id = initiatives.initiative_id
    cross join as_of
    left join exits
        on
            stages.initiative_id = exits.initiative_id
            and stages.stage = exits.stage
    left join criteria
        on
            stages.initiative_id = criteria.initiative_id
            and stages.stage = criteria.from_stage

),

final as (

    select
        initiative_id,
        stage,
        cast(stage_order as integer) as stage_order,
        entered_on,
        exited_on,
        is_current,
        cast(days_in_stage as integer) as days_in_stage,
        cast(max_days_in_stage as integer) as max_days_in_stage,
        coalesce(days_in_stage > max_days_in_stage, false) as is_over_limit,
        coalesce(is_current and days_in_stage > max_days_in_stage, false) as is_stuck

    from joined

)

select * from final
