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

    {%- for key_name, relation in [
        ('estimate_key', 'estimates'), ('cohort_key', 'cohorts'), ('unit_key', 'units')
    ] %}

        select
            '{{ key_name }}' as key_name,
            {{ key_name }} as key_value,
            count(*) as n_ids
        from {{ relation }}
        group by {{ key_name }}
        having count(*) > 1
        {%- if not loop.last %}

            union all
        {%- endif %}
    {%- endfor %}

)

select * from shared
