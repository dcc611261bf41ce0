{#-
    The sign-off in force per figure: the latest (by signed_at, then line of the file) per
    initiative x KPI (null: all KPIs) x period x month. The file is append-only, so a new
    sign-off of the same figure supersedes the earlier one without rewriting it.
-#}

with

signoffs as (

    select * from {{ ref('stg_portfolio__signoffs') }}

),

ranked as (

    select
        signoffs.*,
        row_number() over (
            partition by
                signoffs.initiative_id,
                coalesce(signoffs.kpi_id, ''),
                signoffs.period,
                case when signoffs.period = 'month' then signoffs.report_month end
            order by signoffs.signed_at desc, signoffs.signoff_line desc
        ) as signoff_rank

    from signoffs

),

final as (

    select
        signoff_line,
        signed_at,
        signed_by,
        signed_by_email,
        initiative_id,
        kpi_id,
        period,
        report_month,
        figure_amount,
        currency,
        tolerance_relative,
        comment

    from ranked
    where signoff_rank = 1

)

select * from final
