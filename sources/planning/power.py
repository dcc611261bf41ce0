"""Minimum detectable effect of a staggered rollout, for the project's difference-in-differences.

The estimator (docs/method.md sections 3-4) is linear in the units' monthly residuals: a cell
(cohort g, month t) compares treated and control units' changes D(u, t) = Y(u, t) - baseline(u, g),
the baseline being the day-weighted mean of the months in g's window, and the estimate is the
treated-observation weighted mean of identified post cells. So for a planned design the estimate
is sum over units u and months m of lambda(u, m) x r(u, m), with lambda fixed by the plan, and
under a working model for r (each unit's monthly residual: variance sigma^2, AR(1) correlation
rho between months; unit levels and common month effects cancel in the differences)

    SE^2 = sum over units of lambda_u' Sigma lambda_u,   Sigma(m, n) = sigma^2 rho^|m - n|
    MDE  = (t(1 - alpha/2, df) + t(power, df)) x SE

with df the Welch-Satterthwaite degrees of freedom of the design (the same design shares the
dbt models use). `estimate` re-implements the dbt estimator on a unit x month matrix, for the
simulation that checks the formula (tests/planning).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np


def _t_quantile(q: float, df: float) -> float:
    """Student t quantile. scipy.stats is imported here, not at the top: it takes 1.5 s, and
    every `valueledger` command imports this module to declare its arguments."""
    from scipy import stats

    return float(stats.t.ppf(q, df))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    y, m = divmod(month.year * 12 + month.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


def days_in_month(month: dt.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


@dataclass(frozen=True)
class Design:
    """A planned rollout: go-live per treated unit, permanent controls, measurement settings."""

    go_lives: dict[str, dt.date]
    never_treated: tuple[str, ...]
    baseline_days: int
    ramp_up_days: int
    end_month: dt.date  # the last calendar month the estimate will include

    @property
    def units(self) -> list[str]:
        return sorted(self.go_lives) + sorted(self.never_treated)

    def months(self) -> list[dt.date]:
        first = month_start(min(self.go_lives.values()) - dt.timedelta(days=self.baseline_days))
        out, m = [], first
        while m <= self.end_month:
            out.append(m)
            m = add_months(m, 1)
        return out


@dataclass(frozen=True)
class Cell:
    go_live: dt.date
    month_index: int
    treated: tuple[int, ...]  # unit indices
    controls: tuple[int, ...]
    weight: float  # share of treated observations among identified post cells


def first_post_month(go_live: dt.date, ramp_up_days: int) -> dt.date:
    """The first whole month after the ramp-up (as int_rollout_cohorts_formed)."""
    last_ramp_day = go_live + dt.timedelta(days=ramp_up_days - 1)
    return add_months(month_start(last_ramp_day), 1)


def baseline_coefficients(design: Design, go_live: dt.date, months: list[dt.date]) -> np.ndarray:
    """Each month's share of the baseline window [go_live - B, go_live - 1] (days / B)."""
    coef = np.zeros(len(months))
    index = {m: i for i, m in enumerate(months)}
    for k in range(1, design.baseline_days + 1):
        coef[index[month_start(go_live - dt.timedelta(days=k))]] += 1.0 / design.baseline_days
    return coef


def cells(design: Design) -> list[Cell]:
    """Identified post cells: >= 2 treated and >= 2 controls (never or not yet treated)."""
    units = design.units
    months = design.months()
    found = []
    for g in sorted(set(design.go_lives.values())):
        treated = tuple(i for i, u in enumerate(units) if design.go_lives.get(u) == g)
        first = first_post_month(g, design.ramp_up_days)
        for t, month in enumerate(months):
            if month < first:
                continue
            month_end = add_months(month, 1) - dt.timedelta(days=1)
            controls = tuple(
                i
                for i, u in enumerate(units)
                if u not in design.go_lives or design.go_lives[u] > month_end
            )
            if len(treated) >= 2 and len(controls) >= 2:
                found.append(Cell(g, t, treated, controls, len(treated) * days_in_month(month)))
    total = sum(c.weight for c in found)
    return [Cell(c.go_live, c.month_index, c.treated, c.controls, c.weight / total) for c in found]


@dataclass(frozen=True)
class Power:
    standard_error: float
    degrees_of_freedom: float
    mde: float
    n_cells: int
    n_treated_units: int
    n_control_only_units: int


def _coefficients(design: Design, used: list[Cell]) -> tuple[np.ndarray, np.ndarray]:
    """lambda (units x months) and each unit's design influence (residuals set to 1)."""
    months = design.months()
    lam = np.zeros((len(design.units), len(months)))
    design_influence = np.zeros(len(design.units))
    base = {g: baseline_coefficients(design, g, months) for g in {c.go_live for c in used}}
    for c in used:
        for group, sign in ((c.treated, 1.0), (c.controls, -1.0)):
            share = c.weight * sign / len(group)
            for i in group:
                lam[i, c.month_index] += share
                lam[i] -= share * base[c.go_live]
                design_influence[i] += share
    return lam, design_influence


def welch_df(design_influence: np.ndarray, is_treated: np.ndarray) -> float:
    """As the dbt macro welch_degrees_of_freedom, with design variance shares."""
    v1 = float(np.sum(design_influence[is_treated] ** 2))
    v2 = float(np.sum(design_influence[~is_treated] ** 2))
    n1, n2 = int(is_treated.sum()), int((~is_treated).sum())
    denom = (v1 * v1 / (n1 - 1) if n1 > 1 else 0.0) + (v2 * v2 / (n2 - 1) if n2 > 1 else 0.0)
    return (v1 + v2) ** 2 / denom if denom > 0 else float(n1 + n2 - 2)


def ar1_covariance(n_months: int, sigma: float, rho: float) -> np.ndarray:
    lags = np.abs(np.subtract.outer(np.arange(n_months), np.arange(n_months)))
    return sigma**2 * rho**lags


def mde(design: Design, sigma: float, rho: float, alpha: float = 0.05, power: float = 0.8) -> Power:
    used = cells(design)
    if not used:
        raise ValueError(
            "no identified post cell: every cohort needs 2 treated units and 2 controls in "
            "some month after its ramp-up (add waves, controls or months)"
        )
    lam, design_influence = _coefficients(design, used)
    cov = ar1_covariance(lam.shape[1], sigma, rho)
    se = float(np.sqrt(np.einsum("um,mn,un->", lam, cov, lam)))
    used_units = np.abs(lam).sum(axis=1) > 0
    treated = np.zeros(len(design.units), dtype=bool)
    for c in used:
        treated[list(c.treated)] = True
    df = welch_df(design_influence[used_units], treated[used_units])
    multiplier = _t_quantile(1 - alpha / 2, df) + _t_quantile(power, df)
    return Power(
        standard_error=se,
        degrees_of_freedom=df,
        mde=float(multiplier * se),
        n_cells=len(used),
        n_treated_units=int(treated[used_units].sum()),
        n_control_only_units=int((~treated[used_units]).sum()),
    )


def estimate(design: Design, residuals: np.ndarray, effect: float = 0.0):
    """The dbt estimator on month values: residuals (sims x units x months) -> (estimate, SE).

    `effect` is added to treated units' changes in every post cell (a constant effect).
    CR2 unit-clustered standard error as int_unit_influences_summed.
    """
    if residuals.ndim == 2:
        residuals = residuals[None]
    used = cells(design)
    months = design.months()
    base = {g: baseline_coefficients(design, g, months) for g in {c.go_live for c in used}}
    n_sims = residuals.shape[0]
    est = np.zeros(n_sims)
    influence = np.zeros((n_sims, residuals.shape[1]))
    for c in used:
        change = residuals[:, :, c.month_index] - residuals @ base[c.go_live]
        means = []
        for group, sign, shift in ((c.treated, 1.0, effect), (c.controls, -1.0, 0.0)):
            d = change[:, list(group)] + shift
            mean = d.mean(axis=1)
            n = len(group)
            influence[:, list(group)] += (
                c.weight * sign / n * (d - mean[:, None]) * np.sqrt(n / (n - 1))
            )
            means.append(mean)
        est += c.weight * (means[0] - means[1])
    return est, np.sqrt((influence**2).sum(axis=1))


def simulated_mde(
    design: Design,
    sigma: float,
    rho: float,
    n_sims: int = 4000,
    seed: int = 0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> tuple[float, float]:
    """The effect detected with `power` by the estimator's own t test, over simulated worlds.

    Returns (simulated MDE, empirical SD of the estimate). A constant effect shifts the estimate
    and leaves the residuals (so the SE) unchanged, so one set of worlds serves every effect.
    """
    planned = mde(design, sigma, rho, alpha, power)
    rng = np.random.default_rng(seed)
    n_months = len(design.months())
    chol = np.linalg.cholesky(ar1_covariance(n_months, sigma, rho))
    draws = rng.standard_normal((n_sims, len(design.units), n_months)) @ chol.T
    est0, se = estimate(design, draws)
    crit = _t_quantile(1 - alpha / 2, planned.degrees_of_freedom)

    def rejection_rate(delta: float) -> float:
        return float(np.mean(np.abs(est0 + delta) / se > crit))

    low, high = 0.0, 20.0 * planned.standard_error
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if rejection_rate(mid) < power else (low, mid)
    return (low + high) / 2, float(np.std(est0))
