"""The evidence ladder, sign-offs and target realism of each initiative, for the report's
initiative page (templates/_ladder.html.j2; docs/method.md, "Evidence ladder, sign-off and
learning library"). Absent marts or columns (an older warehouse) give an empty dict, which the
partial shows as not available."""

from assets.reports.learning_library import check_target, library_for

LADDER_COLUMNS = ("evidence_rank", "evidence_level", "signoff_status", "signed_off_by")
FIGURES_SQL = """
    select
        effects.initiative_id, effects.kpi_id as figure, effects.attributed_value_amount as amount,
        effects.evidence_rank, effects.evidence_level, effects.signoff_status,
        effects.signed_off_by, effects.signed_off_at, effects.signed_off_amount,
        kpis.direction, kpis.target_type, kpis.target_change, effects.baseline_value
    from marts.fct_initiative_kpi_effects as effects
    inner join marts.dim_initiative_kpis as kpis
        on effects.initiative_id = kpis.initiative_id and effects.kpi_id = kpis.kpi_id
    union all
    select
        initiative_id, 'all KPIs' as figure, attributed_value_to_date_amount as amount,
        evidence_rank, evidence_level, signoff_status, signed_off_by, signed_off_at,
        signed_off_amount, null, null, null, null
    from marts.fct_initiative_returns
    order by 1, 2
"""


def favourable_relative_target(row: dict) -> float | None:
    """The KPI's target as a favourable relative change (the library's scale)."""
    if row["target_change"] is None:
        return None
    sign = 1.0 if row["direction"] == "increase" else -1.0
    if row["target_type"] == "relative":
        return row["target_change"] * sign
    if not row["baseline_value"]:
        return None
    return row["target_change"] * sign / abs(row["baseline_value"])


def load_ladder(con, has) -> dict[str, dict]:
    """Per initiative: its figures with their rung, and where each KPI's target falls."""
    needed = (
        has("marts", "fct_initiative_kpi_effects", *LADDER_COLUMNS)
        and has("marts", "fct_initiative_returns", *LADDER_COLUMNS)
        and has("marts", "dim_initiative_kpis", "target_type", "target_change")
    )
    if not needed:
        return {}
    has_library = has("marts", "fct_effect_library") and has("marts", "fct_effect_library_entries")
    cursor = con.execute(FIGURES_SQL)
    names = [d[0] for d in cursor.description]
    ladder: dict[str, dict] = {}
    libraries = {}  # per KPI: read once, not once per target placed
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        entry = ladder.setdefault(row["initiative_id"], {"figures": [], "targets": []})
        entry["figures"].append(row)
        target = favourable_relative_target(row) if row["direction"] else None
        if target is not None and has_library:
            kpi = row["figure"]
            if kpi not in libraries:
                libraries[kpi] = library_for(con, kpi)
            placed = check_target(con, kpi, target, libraries[kpi])
            entry["targets"].append({"kpi_id": kpi, "sentence": placed.sentence})
    return ladder
