-- Every integer key (macros/integer_key.sql) stands for exactly one tuple of ids: a 64-bit hash
-- collision would merge two cohorts or two units in every estimate they are summed into.
-- Returns each key shared by more than one estimate, cohort or unit. Dagster attaches it to
-- int_baselines_frozen, which holds the unit keys (it reads three models).
{{ config(meta={'dagster': {'ref': {'name': 'int_baselines_frozen'}}}) }}

with

estimates as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

cohorts as (

    select * from {{ ref('int_rollout_cohorts_formed') }}

),

units as (

    select * from {{ unit_ids() }} as unit_ids

),

shared as (

    select
        'estimate_key' as key_name,
        estimate_key as key_value,
        count(*) as n_ids
    from estimates
    group by estimate_key
    having count(*) > 1

    union all

    select
        'cohort_key' as key_name,
        cohort_key as key_value,
        count(*) as n_ids
    from cohorts
    group by cohort_key
    having count(*) > 1

    union all

    select
        'unit_key' as key_name,
        unit_key as key_value,
        count(*) as n_ids
    from units
    group by unit_key
    having count(*) > 1

)

select * from shared
