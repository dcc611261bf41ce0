{#-
    Evidence status per initiative from the latest run of the evidence gates: fail (unverified)
    when a finding of that run marks it failed, warn when one warns, pass otherwise; fail when
    the gates never ran. A finding reaches initiatives by its initiative_id, else by its KPI
    (every initiative measuring it), else, for a source-level or portfolio-wide finding,
    every initiative: failures always, warnings only when they name a source system.
-#}

with

initiatives as (

    select initiative_id from {{ ref('stg_portfolio__initiatives') }}

),

initiative_kpis as (

    select
        initiative_id,
        kpi_id
    from {{ ref('stg_portfolio__initiative_kpis') }}

),

checks as (

    select * from {{ ref('stg_quality__evidence_checks') }}

),

latest_run as (

    select max(checked_at) as checked_at from checks

),

run_checks as (

    select checks.*
    from checks
    inner join latest_run on checks.checked_at = latest_run.checked_at

),

run_meta as (

    select
        latest_run.checked_at,
        max(run_checks.run_id) as run_id
    from latest_run
    left join run_checks on latest_run.checked_at = run_checks.checked_at
    group by latest_run.checked_at

),

findings as (

    select * from run_checks
    where not is_check_summary and check_status != 'pass'

),

findings_by_initiative as (

    select
        findings.initiative_id,
        findings.check_name,
        findings.check_status
    from findings
    where findings.initiative_id is not null

    union all

    select
        initiative_kpis.initiative_id,
        findings.check_name,
        findings.check_status
    from findings
    inner join initiative_kpis on findings.kpi_id = initiative_kpis.kpi_id
    where findings.initiative_id is null

    union all

    select
        initiatives.initiative_id,
        findings.check_name,
        findings.check_status
    from findings
    cross join initiatives
    where
        findings.initiative_id is null
        and findings.kpi_id is null
        and (findings.check_status = 'fail' or findings.source_system is not null)

),

checks_by_initiative as (

    select distinct
        initiative_id,
        check_name,
        check_status
    from findings_by_initiative

),

counted as (

    select
        initiative_id,
        sum(case when check_status = 'fail' then 1 else 0 end) as n_checks_failed,
        sum(case when check_status = 'warn' then 1 else 0 end) as n_checks_warned,
        {{ text_list(
            "case when check_status = 'fail' then check_name end", "check_name"
        ) }} as failed_checks,
        {{ text_list(
            "case when check_status = 'warn' then check_name end", "check_name"
        ) }} as warned_checks
    from checks_by_initiative
    group by initiative_id

),

final as (

    select
        initiatives.initiative_id,
        counted.failed_checks,
        counted.warned_checks,
        run_meta.run_id as evidence_run_id,
        run_meta.checked_at as evidence_checked_at,
        case
            when run_meta.checked_at is null then 'fail'
            when coalesce(counted.n_checks_failed, 0) > 0 then 'fail'
            when coalesce(counted.n_checks_warned, 0) > 0 then 'warn'
            else 'pass'
        end as evidence_status,
        (
            run_meta.checked_at is not null
            and coalesce(counted.n_checks_failed, 0) = 0
        ) as is_evidence_verified,
        coalesce(counted.n_checks_failed, 0) as n_checks_failed,
        coalesce(counted.n_checks_warned, 0) as n_checks_warned,
        case
            when run_meta.checked_at is null then 'unverified: no evidence checks recorded'
            when coalesce(counted.n_checks_failed, 0) > 0
                then 'unverified: ' || counted.failed_checks
            when coalesce(counted.n_checks_warned, 0) > 0
                then 'verified with warnings: ' || counted.warned_checks
            else 'verified: every evidence check passes'
        end as evidence_note

    from initiatives
    cross join run_meta
    left join counted on initiatives.initiative_id = counted.initiative_id

)

select * from final
