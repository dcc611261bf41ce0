{#-
    One row: the date every age, window and run rate of the discipline models is measured at.
    `var('as_of')` when set, else the last date of KPI evidence (else of adoption evidence), so
    a rerun on the same evidence gives the same answer whatever the wall clock says.
-#}
{%- set as_of = var('as_of', none) -%}

with

observations as (

    select observed_on from {{ ref('stg_evidence__kpi_observations') }}

),

adoption as (

    select observed_on from {{ ref('stg_evidence__adoption') }}

),

evidence_end as (

    select
        (
            select max(observations.observed_on) as last_on from observations
        ) as last_kpi_evidence_on,
        (
            select max(adoption.observed_on) as last_on from adoption
        ) as last_adoption_evidence_on

),

chosen as (

    select
        last_kpi_evidence_on,
        {% if as_of -%}
            cast('{{ as_of }}' as date)
        {%- else -%}
            coalesce(last_kpi_evidence_on, last_adoption_evidence_on)
        {%- endif %} as as_of_date,
        {{ 'true' if as_of else 'false' }} as is_as_of_set

    from evidence_end

),

final as (

    select
        as_of_date,
        {{ month_start('as_of_date') }} as as_of_month,
        -- The latest whole month up to the as-of date: its own month when as_of_date is the
        -- month's last day, else the month before.
        cast(
            {{ dbt.dateadd(
                'month', -1, month_start(dbt.dateadd('day', 1, 'as_of_date'))
            ) }} as date
        ) as last_whole_month,
        last_kpi_evidence_on,
        is_as_of_set

    from chosen

)

select * from final
