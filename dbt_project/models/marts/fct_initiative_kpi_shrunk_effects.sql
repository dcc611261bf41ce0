-- One row per initiative x KPI: the attributed effect shrunk toward the portfolio's mean effect
-- (empirical Bayes, normal-normal; Efron and Morris 1975), and its value recomputed with the
-- shrunk effect. Effects are compared as relative favourable changes r = favourable change /
-- |baseline| with standard error s, so KPIs of any unit and direction share one prior
-- N(mu, tau^2). tau^2 is the DerSimonian-Laird method-of-moments estimate, fitted only on
-- estimates that pass the evidence gates and diagnostics (a verdict other than 'insufficient
-- evidence', no pre-trend, verified evidence); every estimate is then shrunk:
--     r_shrunk = mu + B (r - mu),   B = tau^2 / (tau^2 + s^2).
-- A noisy win (large s) moves most of the way to mu; a well-measured effect (small s) barely
-- moves. Value: the attributed value plus (shrunk - unshrunk favourable change) x treated
-- volume x value per unit, so B = 1 gives back the attributed value exactly.
with

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

initiative_kpis as (

    select * from {{ ref('dim_initiative_kpis') }}

),

cells as (

    select * from {{ ref('int_cells_estimated') }}
    where is_post_period and is_identified

),

volumes as (

    select
        initiative_id,
        kpi_id,
        sum(treated_volume) as treated_volume

    from cells
    group by
        initiative_id,
        kpi_id

),

relative as (

    select
        effects.initiative_id,
        effects.kpi_id,
        effects.currency,
        effects.evidence_verdict,
        effects.has_pre_trend,
        effects.is_evidence_verified,
        effects.baseline_value,
        effects.attributed_favourable_change,
        effects.attributed_value_amount,
        effects.attributed_favourable_change / nullif(abs(effects.baseline_value), 0)
            as relative_effect,
        effects.standard_error / nullif(abs(effects.baseline_value), 0)
            as relative_standard_error,
        volumes.treated_volume * initiative_kpis.value_per_unit as value_per_favourable_unit

    from effects
    inner join initiative_kpis
        on
            effects.initiative_id = initiative_kpis.initiative_id
            and effects.kpi_id = initiative_kpis.kpi_id
    left join volumes
        on
            effects.initiative_id = volumes.initiative_id
            and effects.kpi_id = volumes.kpi_id

),

gated as (

    select
        *,
        coalesce(
            evidence_verdict != 'insufficient evidence'
            and not coalesce(has_pre_trend, false)
            and is_evidence_verified
            and relative_effect is not null
            and relative_standard_error > 0,
            false
        ) as is_in_fit

    from relative

),

-- DerSimonian-Laird: fixed-effect mean, Cochran's Q, then tau^2 = max(0, (Q - (k - 1)) / c).
fixed_effect as (

    select
        count(*) as n_in_fit,
        sum(1.0 / (relative_standard_error * relative_standard_error)) as sum_w,
        sum(
            1.0 / (relative_standard_error * relative_standard_error)
            / (relative_standard_error * relative_standard_error)
        ) as sum_w2,
        sum(relative_effect / (relative_standard_error * relative_standard_error))
        / sum(1.0 / (relative_standard_error * relative_standard_error)) as fixed_mean

    from gated
    where is_in_fit

),

heterogeneity as (

    select
        fixed_effect.n_in_fit,
        case
            when fixed_effect.n_in_fit >= 3
                then
                    greatest(
                        0,
                        (
                            sum(
                                (gated.relative_effect - fixed_effect.fixed_mean)
                                * (gated.relative_effect - fixed_effect.fixed_mean)
                                / (gated.relative_standard_error * gated.relative_standard_error)
                            )
                            - (fixed_effect.n_in_fit - 1)
                        )
                        / (fixed_effect.sum_w - fixed_effect.sum_w2 / fixed_effect.sum_w)
                    )
        end as tau_squared

    from gated
    cross join fixed_effect
    where gated.is_in_fit
    group by
        fixed_effect.n_in_fit,
        fixed_effect.sum_w,
        fixed_effect.sum_w2

),

prior_fit as (

    select
        heterogeneity.n_in_fit,
        heterogeneity.tau_squared,
        sum(
            gated.relative_effect
            / (
                gated.relative_standard_error * gated.relative_standard_error
                + heterogeneity.tau_squared
            )
        )
        / sum(
            1.0
            / (
                gated.relative_standard_error * gated.relative_standard_error
                + heterogeneity.tau_squared
            )
        ) as prior_mean

    from gated
    cross join heterogeneity
    where gated.is_in_fit
    group by
        heterogeneity.n_in_fit,
        heterogeneity.tau_squared

),

shrunk as (

    select
        gated.*,
        prior_fit.n_in_fit,
        prior_fit.prior_mean,
        prior_fit.tau_squared,
        prior_fit.tau_squared
        / (
            prior_fit.tau_squared
            + gated.relative_standard_error * gated.relative_standard_error
        ) as shrinkage_weight

    from gated
    left join prior_fit
        on prior_fit.tau_squared is not null

),

final as (

    select
        initiative_id,
        kpi_id,
        currency,
        evidence_verdict,
        is_in_fit,
        cast(n_in_fit as integer) as n_in_fit,
        cast(relative_effect as {{ type_double() }}) as relative_effect,
        cast(relative_standard_error as {{ type_double() }}) as relative_standard_error,
        cast(prior_mean as {{ type_double() }}) as prior_mean,
        cast(sqrt(tau_squared) as {{ type_double() }}) as prior_sd,
        cast(shrinkage_weight as {{ type_double() }}) as shrinkage_weight,
        cast(
            prior_mean + shrinkage_weight * (relative_effect - prior_mean) as {{ type_double() }}
        ) as shrunk_relative_effect,
        attributed_favourable_change,
        cast(
            (prior_mean + shrinkage_weight * (relative_effect - prior_mean))
            * abs(baseline_value) as {{ type_double() }}
        ) as shrunk_favourable_change,
        attributed_value_amount,
        cast(
            attributed_value_amount
            + (
                (prior_mean + shrinkage_weight * (relative_effect - prior_mean))
                * abs(baseline_value)
                - attributed_favourable_change
            )
            * value_per_favourable_unit as {{ type_double() }}
        ) as shrunk_value_amount

    from shrunk

)

select * from final
