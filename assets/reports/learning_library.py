"""Where a target falls in the learning library (docs/method.md, "Evidence ladder, sign-off and
learning library"): what earlier initiatives achieved on the same KPI, or on the same value
driver when the KPI has no attributed estimate yet. The quantiles come from the mart
marts.fct_effect_library (SQL, type 7); this module only places a target among them and says
so in a sentence that is honest about how few estimates there are.
"""

from dataclasses import dataclass

# Below this many estimates a percentile is a statement about one or two numbers: say so.
MIN_ESTIMATES_FOR_PERCENTILES = 5
PERCENTILES = (10, 25, 50, 75, 90)


@dataclass(frozen=True)
class TargetPlacement:
    target: float  # favourable relative change, 0.15 = 15% in the favourable direction
    library_scope: str  # kpi | value_driver | none
    scope_id: str
    n_estimates: int
    n_at_least_target: int
    percentile_band: str  # e.g. "above the 90th percentile"
    share_significant: float | None
    sentence: str

    @property
    def is_indicative_only(self) -> bool:
        return self.n_estimates < MIN_ESTIMATES_FOR_PERCENTILES


def _band(target: float, quantiles: dict[int, float]) -> str:
    if target > quantiles[90]:
        return "above the 90th percentile"
    if target < quantiles[10]:
        return "below the 10th percentile"
    for low, high in zip(PERCENTILES, PERCENTILES[1:], strict=False):
        if quantiles[low] <= target <= quantiles[high]:
            return f"between the {low}th and {high}th percentile"
    return "within the range"  # unreachable with ordered quantiles


def place_target(
    target: float, library_scope: str, scope_id: str, row: dict | None, effects: list[float]
) -> TargetPlacement:
    """Place `target` in one library row (fct_effect_library) and its estimates."""
    label = f"{target:.0%} target"
    if row is None or not effects:
        return TargetPlacement(
            target, "none", scope_id, 0, 0, "no evidence", None,
            f"a {label}: no initiative has an attributed estimate on {scope_id} yet, so there "
            "is nothing to compare it with; set it from the business case and measure it",
        )  # fmt: skip
    n = len(effects)
    k = sum(1 for e in effects if e >= target)
    quantiles = {p: row[f"p{p}_change_relative"] for p in PERCENTILES}
    band = _band(target, quantiles)
    plural = "s" if n != 1 else ""
    what = f"what {n} initiative{plural} achieved on this {library_scope.replace('_', ' ')}"
    sentence = (
        f"a {label} is {band} of {what} ({scope_id}): {k} of {n} reached it; median "
        f"{quantiles[50]:+.1%}, range {row['min_change_relative']:+.1%} to "
        f"{row['max_change_relative']:+.1%}, {row['share_significant']:.0%} significant"
    )
    if n < MIN_ESTIMATES_FOR_PERCENTILES:
        sentence += (
            f"; only {n} estimate{'s' if n != 1 else ''}: the percentiles are the estimates "
            "themselves interpolated, indicative only"
        )
    return TargetPlacement(
        target, library_scope, scope_id, n, k, band, row["share_significant"], sentence
    )


def _library_row(con, library_scope: str, scope_id: str) -> dict | None:
    cursor = con.execute(
        "select * from marts.fct_effect_library where library_scope = ? and scope_id = ?",
        [library_scope, scope_id],
    )
    names = [d[0] for d in cursor.description]
    found = cursor.fetchone()
    return None if found is None else dict(zip(names, found, strict=True))


def _effects(con, column: str, value: str) -> list[float]:
    rows = con.execute(
        "select favourable_change_relative from marts.fct_effect_library_entries "
        f"where {column} = ? order by 1",
        [value],
    ).fetchall()
    return [e for (e,) in rows]


Library = tuple[str, str, dict | None, list[float], str]


def library_for(con, kpi_id: str) -> Library:
    """Where a KPI's targets are placed: the KPI's own distribution, else its value driver's
    (from the registry), else none. (scope, scope id, library row, effects, note)"""
    row = _library_row(con, "kpi", kpi_id)
    if row is not None:
        return "kpi", kpi_id, row, _effects(con, "kpi_id", kpi_id), ""
    drivers = con.execute(
        "select distinct value_driver from marts.dim_initiative_kpis where kpi_id = ? order by 1",
        [kpi_id],
    ).fetchall()
    for (driver,) in drivers:
        row = _library_row(con, "value_driver", driver)
        if row is not None:
            note = f"no attributed estimate on {kpi_id} yet; compared with its value driver: "
            return "value_driver", driver, row, _effects(con, "value_driver", driver), note
    return "kpi", kpi_id, None, [], ""


def check_target(
    con, kpi_id: str, target: float, library: Library | None = None
) -> TargetPlacement:
    """Where `target` falls in the KPI's library (`library_for`; pass it when placing many
    targets of one KPI: the report's ladder places hundreds of a dozen KPIs)."""
    scope, scope_id, row, effects, note = library or library_for(con, kpi_id)
    placed = place_target(target, scope, scope_id, row, effects)
    if not note:
        return placed
    return TargetPlacement(**{**placed.__dict__, "sentence": note + placed.sentence})
