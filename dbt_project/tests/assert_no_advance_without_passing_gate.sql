-- An initiative is recommended to advance only when every criterion of its next gate passes
-- and no stop test fails; a kill always names a failed stop test, a stuck stage without
-- effect, or an earlier kill. A failure means the recommendation contradicts its checks.
with

recommendations as (

    select * from {{ ref('fct_initiative_recommendations') }}

),

checks as (

    select
        initiative_id,
        sum(case when check_kind = 'gate' and check_status != 'pass' then 1 else 0 end)
            as n_gate_unmet,
        sum(case when check_kind = 'stop' and check_status = 'fail' then 1 else 0 end)
            as n_stop_failed

    from {{ ref('fct_gate_evaluations') }}
    group by initiative_id

)

select recommendations.initiative_id
from recommendations
left join checks
    on recommendations.initiative_id = checks.initiative_id
where
    (
        recommendations.recommendation = 'advance'
        and (
            coalesce(checks.n_gate_unmet, 0) > 0
            or coalesce(checks.n_stop_failed, 0) > 0
            or recommendations.n_gate_criteria = 0
        )
    )
    or (
        recommendations.recommendation = 'kill'
        and coalesce(checks.n_stop_failed, 0) = 0
        and recommendations.decision_rule not in ('stuck without effect', 'already killed')
    )
