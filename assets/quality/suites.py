"""The catalogue of evidence checks, and the Great Expectations project written from it.

Each check validates one frame of `profiles.py` (a small table aggregated in DuckDB: one row per
source system, KPI x unit, initiative x KPI...) with one or more GX expectations. A failing row
names the entity it concerns, so a result can be traced to the initiatives it affects.

Levels:
- `blocking`: portfolio-wide; the warehouse as a whole cannot be trusted (a loader invariant is
  broken, or evidence vanished). Fails the Dagster step: dbt and the report do not run.
- `initiative`: a failing row marks the initiatives it concerns `fail` (unverified) in
  `int_evidence_status_by_initiative`; the run goes on for the others.
- `warn`: a failing row marks its initiatives `warn`; the run goes on.

The GX project (`gx/`, committed) is generated from this file:

    .venv/bin/python -m assets.quality.suites

writes the suites, validation definitions and checkpoints; tests/quality checks that the
committed project matches this catalogue.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

GX_ROOT = Path(__file__).resolve().parent  # the GX project lives in GX_ROOT / "gx"
GX_DIR = GX_ROOT / "gx"
DATASOURCE = "evidence_profiles"
BATCH = "whole_frame"
Level = Literal["blocking", "initiative", "warn"]


@dataclass(frozen=True)
class Expectation:
    """One GX expectation: its class in `great_expectations.expectations` and arguments."""

    type: str
    kwargs: dict[str, Any]
    observed: str  # the frame column reported as the observed value
    threshold: str  # the rule in words, for quality.evidence_checks.threshold


@dataclass(frozen=True)
class Check:
    name: str  # Dagster check name and quality.evidence_checks.check_name
    level: Level
    frame: str  # the profiles.py frame (and GX suite) it validates
    description: str
    expectations: tuple[Expectation, ...]
    # A failing row as people read it: str.format over the frame row.
    detail: str
    # Write a row per frame row (pass or fail), not only the failing ones: history the next run
    # compares with (volume).
    record_all: bool = False
    table: str | None = None  # the evidence table concerned, when one

    @property
    def blocking(self) -> bool:
        return self.level == "blocking"


# A month's median against its series' usual level (kpi_level_shift): outside, a wrong unit.
LEVEL_RATIO_LIMITS = (1 / 3, 3)


def _between(column: str, lo=None, hi=None, **extra) -> Expectation:
    words = {
        (True, True): f"{lo} <= {column} <= {hi}",
        (True, False): f"{column} >= {lo}",
        (False, True): f"{column} <= {hi}",
    }[(lo is not None, hi is not None)]
    if isinstance(lo, dict) or isinstance(hi, dict):
        words = words.replace("{'$PARAMETER': '", "$").replace("'}", "")
    kwargs = {"column": column, "min_value": lo, "max_value": hi, **extra}
    return Expectation("ExpectColumnValuesToBeBetween", kwargs, column, words)


def _zero(column: str) -> Expectation:
    e = _between(column, 0, 0)
    return Expectation(e.type, e.kwargs, e.observed, f"{column} = 0")


def _true(column: str) -> Expectation:
    return Expectation(
        "ExpectColumnValuesToBeInSet",
        {"column": column, "value_set": [True]},
        column,
        f"{column} is true",
    )


def _at_least(a: str, b: str) -> Expectation:
    return Expectation(
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {
            "column_A": a,
            "column_B": b,
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
        b,
        f"{a} >= {b}",
    )


def _param(name: str) -> dict[str, str]:
    return {"$PARAMETER": name}


def _table(table: str) -> dict[str, dict]:
    """Only the frame's rows of one evidence table (a GX condition, as GX stores it)."""
    condition = {
        "type": "comparison",
        "column": {"name": "table_name"},
        "operator": "==",
        "parameter": table,
    }
    return {"row_condition": condition}


def _profile_checks(table: str, extra: list[Check]) -> list[Check]:
    frame = f"{table}_profile"
    entity = {
        "kpi_observations": "{source_system} {kpi_id} {unit_id}",
        "ai_costs": "{source_system} {initiative_id} ({currency})",
        "adoption": "{source_system} {initiative_id} {unit_id}",
    }[table]
    return [
        Check(
            f"{table}_not_null",
            "blocking",
            frame,
            f"Every required column of raw.{table} is filled (the loader guarantees it: a "
            "failure means rows were written around it).",
            (_zero("n_missing_required"),),
            entity + ": {n_missing_required} of {n_rows} rows miss a required value",
            table=table,
        ),
        Check(
            f"{table}_grain_unique",
            "blocking",
            frame,
            f"One row per grain in raw.{table} (ids compared in lower case, as dbt reads them).",
            (_zero("n_duplicate_grain"),),
            entity + ": {n_duplicate_grain} rows repeat a grain already present",
            table=table,
        ),
        *extra,
    ]


KPI_CHECKS = _profile_checks(
    "kpi_observations",
    [
        Check(
            "kpi_observations_known_ids",
            "blocking",
            "kpi_observations_profile",
            "Every loaded KPI and unit is in the registry.",
            (_true("is_known_kpi"), _true("is_known_unit")),
            "{source_system} {kpi_id} {unit_id}: {n_rows} rows for an id the registry does "
            "not know (KPI known: {is_known_kpi}, unit known: {is_known_unit}); load again "
            "after fixing the registry, or remove the rows",
            table="kpi_observations",
        ),
        Check(
            "kpi_observations_value_range",
            "blocking",
            "kpi_observations_profile",
            "Loaded values lie within the KPI catalogue's min_value and max_value, weights are "
            "not negative.",
            (
                _at_least("value_min", "kpi_min"),
                _at_least("kpi_max", "value_max"),
                _between("weight_min", 0, None),
            ),
            "{source_system} {kpi_id} {unit_id}: values {value_min} to {value_max}, weights "
            "from {weight_min}; the catalogue allows {kpi_min} to {kpi_max}",
            table="kpi_observations",
        ),
        Check(
            "kpi_observations_date_range",
            "blocking",
            "kpi_observations_profile",
            "Observation dates lie between the portfolio's data_starts_on and today.",
            (
                _between("first_date", _param("data_starts_on"), None),
                _between("last_date", None, _param("today")),
            ),
            "{source_system} {kpi_id} {unit_id}: dates {first_date} to {last_date}",
            table="kpi_observations",
        ),
    ],
)

COST_CHECKS = _profile_checks(
    "ai_costs",
    [
        Check(
            "ai_costs_known_ids",
            "blocking",
            "ai_costs_profile",
            "Every loaded cost belongs to an initiative of the registry.",
            (_true("is_known_initiative"),),
            "{source_system} {initiative_id}: {n_rows} cost rows for an unknown initiative",
            table="ai_costs",
        ),
        Check(
            "ai_costs_currency",
            "blocking",
            "ai_costs_profile",
            "Every loaded cost is in the portfolio currency.",
            (
                Expectation(
                    "ExpectColumnValuesToBeInSet",
                    {"column": "currency", "value_set": _param("currencies")},
                    "currency",
                    "currency in $currencies",
                ),
            ),
            "{source_system} {initiative_id}: {n_rows} rows in {currency}",
            table="ai_costs",
        ),
        Check(
            "ai_costs_date_range",
            "blocking",
            "ai_costs_profile",
            "No cost month lies in the future.",
            (_between("last_month", None, _param("today")),),
            "{source_system} {initiative_id}: cost months {first_month} to {last_month}",
            table="ai_costs",
        ),
    ],
)

ADOPTION_CHECKS = _profile_checks(
    "adoption",
    [
        Check(
            "adoption_known_ids",
            "blocking",
            "adoption_profile",
            "Every loaded adoption row belongs to an initiative and a unit of the registry.",
            (_true("is_known_initiative"), _true("is_known_unit")),
            "{source_system} {initiative_id} {unit_id}: {n_rows} rows for an unknown id "
            "(initiative known: {is_known_initiative}, unit known: {is_known_unit})",
            table="adoption",
        ),
        Check(
            "adoption_users_consistent",
            "blocking",
            "adoption_profile",
            "Active users never exceed eligible users, and no count is negative.",
            (_between("max_excess_users", None, 0), _between("min_users", 0, None)),
            "{source_system} {initiative_id} {unit_id}: active exceeds eligible by up to "
            "{max_excess_users}, smallest count {min_users}",
            table="adoption",
        ),
        Check(
            "adoption_date_range",
            "blocking",
            "adoption_profile",
            "Adoption dates lie between the portfolio's data_starts_on and today.",
            (
                _between("first_date", _param("data_starts_on"), None),
                _between("last_date", None, _param("today")),
            ),
            "{source_system} {initiative_id} {unit_id}: dates {first_date} to {last_date}",
            table="adoption",
        ),
    ],
)

# Freshness: how far a source's newest date may lag the newest date of its table, by cadence
# (daily KPIs, weekly adoption, monthly costs).
MAX_LAG_DAYS = {"kpi_observations": 7, "adoption": 14, "ai_costs": 62}

SOURCE_CHECKS = [
    Check(
        "evidence_schema",
        "blocking",
        "evidence_columns",
        "The canonical tables have every contract column with its type (sources/contracts.py).",
        (
            Expectation(
                "ExpectColumnPairValuesToBeEqual",
                {"column_A": "actual_type", "column_B": "expected_type"},
                "actual_type",
                "actual_type = expected_type",
            ),
        ),
        "raw.{table_name}.{column_name} is {actual_type}, the contract says {expected_type}",
    ),
    Check(
        "evidence_volume",
        "blocking",
        "evidence_sources",
        "No source system lost more than a fifth of its rows since the last run in which "
        "this check passed (a partial delivery or a broken refresh).",
        (
            Expectation(
                "ExpectColumnValuesToBeBetween",
                {"column": "volume_ratio", "min_value": 0.8},
                "rows_in_table",  # recorded every run: the history the next run compares with
                "rows_in_table / rows_last_passing_run >= 0.8",
            ),
        ),
        "{table_name} from {source_system}: {rows_in_table} rows, {rows_last_passing_run} at "
        "the last passing run (ratio {volume_ratio}); restore the missing files or rows",
        record_all=True,
    ),
    Check(
        "evidence_quarantine_share",
        "initiative",
        "evidence_sources",
        "At most 5 % of the rows a source system delivered are quarantined; above that its "
        "evidence is not trusted and the initiatives it feeds are unverified.",
        (_between("quarantine_share", None, 0.05),),
        "{table_name} from {source_system}: {rows_quarantined} of {rows_read} rows "
        "quarantined ({quarantine_share:.1%}); see raw.quarantine for the reasons",
    ),
    Check(
        "evidence_rejected_files",
        "warn",
        "evidence_sources",
        "No file or fetch of a source system was rejected as a whole (missing column, empty, "
        "unreadable).",
        (_zero("files_rejected"),),
        "{table_name} from {source_system}: {files_rejected} file(s) rejected: {rejected_files}",
    ),
    Check(
        "evidence_freshness",
        "warn",
        "evidence_sources",
        "Each source system is as recent as the others of its table: its newest date lags the "
        "table's newest by at most "
        + ", ".join(f"{d} days ({t})" for t, d in MAX_LAG_DAYS.items())
        + ".",
        tuple(
            _between("lag_days", None, days, **_table(table))
            for table, days in MAX_LAG_DAYS.items()
        ),
        "{table_name} from {source_system}: newest date {last_date}, {lag_days} days behind "
        "the table's newest ({newest_date})",
    ),
    Check(
        "evidence_age",
        "warn",
        "evidence_age",
        "The newest KPI observation is at most 45 days old.",
        (_between("age_days", None, 45),),
        "newest KPI observation {newest_date}, {age_days} days before {today}",
    ),
]

SERIES_CHECKS = [
    Check(
        "kpi_observations_gaps",
        "warn",
        "kpi_observation_gaps",
        "No KPI series of a unit stops for longer than 7 days or three of its usual intervals "
        "(an outage, a missing file).",
        (_at_least("allowed_gap_days", "longest_gap_days"),),
        "{source_system} {kpi_id} {unit_id}: no observation from {gap_from} to {gap_to} "
        "({longest_gap_days} days; usual interval {typical_gap_days})",
        table="kpi_observations",
    ),
    Check(
        "kpi_level_shift",
        "initiative",
        "kpi_observation_levels",
        "No month of a KPI series sits at more than 3 times or less than a third of the unit's "
        "usual level: a file in the wrong unit that stayed inside the catalogue's range.",
        (
            _between("min_level_ratio", LEVEL_RATIO_LIMITS[0], None),
            _between("max_level_ratio", None, LEVEL_RATIO_LIMITS[1]),
        ),
        "{source_system} {kpi_id} {unit_id}: {n_shifted_months} month(s) at under a third or "
        "over 3 times the unit's usual {unit_median}: {shifted_months}; wrong unit?",
        table="kpi_observations",
    ),
    Check(
        "baseline_coverage",
        "warn",
        "baseline_coverage",
        "Every live unit has at least the registry's min_observations in its baseline window "
        "(units short of it are left out of the measured change).",
        (
            Expectation(
                "ExpectColumnPairValuesToBeEqual",
                {"column_A": "n_units_covered", "column_B": "n_live_units"},
                "n_units_covered",
                "n_units_covered = n_live_units",
            ),
        ),
        "{initiative_id} {kpi_id}: {n_units_covered} of {n_live_units} live units have "
        "{min_observations} baseline observations; short: {uncovered}",
    ),
    Check(
        "baseline_measurable",
        "initiative",
        "baseline_coverage",
        "At least one live unit of each initiative x KPI has a complete baseline; otherwise "
        "nothing about the initiative can be measured.",
        (_between("n_units_covered", 1, None),),
        "{initiative_id} {kpi_id}: no live unit has {min_observations} baseline observations "
        "({uncovered})",
    ),
    Check(
        "late_for_frozen_baseline",
        "warn",
        "late_for_frozen_baseline",
        "No observation dated inside a live unit's baseline window arrived after that baseline "
        "was first loaded (it was loaded, and changes a frozen baseline).",
        (_zero("n_late_rows"),),
        "{initiative_id} {kpi_id} {unit_id} (live {go_live_on}): {n_late_rows} rows dated "
        "{first_late_date} to {last_late_date} arrived after the baseline froze ({frozen_at}), "
        "from {late_files}",
    ),
    Check(
        "quarantined_rows",
        "warn",
        "quarantined_rows",
        "No row of the entity's evidence is in quarantine.",
        (_zero("n_quarantined"),),
        "{table_name} from {source_system} {ids}: {n_quarantined} rows quarantined ({lines}): "
        "{reasons}",
    ),
    Check(
        "quarantined_share",
        "initiative",
        "quarantined_rows",
        "At most 10 % of an entity's rows (KPI x unit, initiative) are quarantined.",
        (_between("quarantine_share", None, 0.10),),
        "{table_name} from {source_system} {ids}: {n_quarantined} of "
        "{n_read} rows quarantined ({quarantine_share:.1%})",
    ),
]

CHECKS: tuple[Check, ...] = (
    *SOURCE_CHECKS,
    *KPI_CHECKS,
    *COST_CHECKS,
    *ADOPTION_CHECKS,
    *SERIES_CHECKS,
)
CHECKS_BY_NAME = {c.name: c for c in CHECKS}
FRAMES: tuple[str, ...] = tuple(dict.fromkeys(c.frame for c in CHECKS))
assert len(CHECKS_BY_NAME) == len(CHECKS), "check names must be unique"


def suite_definitions() -> dict[str, list[dict]]:
    """Per frame (= GX suite), its expectations as GX stores them (type, kwargs, meta)."""
    suites: dict[str, list[dict]] = {frame: [] for frame in FRAMES}
    for check in CHECKS:
        for e in check.expectations:
            suites[check.frame].append(
                {
                    "type": e.type,
                    "kwargs": {k: v for k, v in e.kwargs.items() if v is not None},
                    "meta": {
                        "check": check.name,
                        "level": check.level,
                        "observed": e.observed,
                        "threshold": e.threshold,
                    },
                    "severity": "warning" if check.level == "warn" else "critical",
                }
            )
    return suites


def build_project(root: Path = GX_ROOT) -> None:
    """(Re)write the GX file project from the catalogue: one pandas dataframe asset, suite,
    validation definition and checkpoint per frame. Results and Data Docs go to the data
    folder at run time (see gates.py), never here."""
    import great_expectations as gx  # 5-10 s: only when the project is rebuilt
    import great_expectations.expectations as gxe

    gx_dir = root / "gx"
    if gx_dir.exists():
        shutil.rmtree(gx_dir)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    source = context.data_sources.add_pandas(DATASOURCE)
    for frame, expectations in suite_definitions().items():
        batch = source.add_dataframe_asset(frame).add_batch_definition_whole_dataframe(BATCH)
        suite = context.suites.add(gx.ExpectationSuite(frame))
        for e in expectations:
            cls = getattr(gxe, _class_name(e["type"]))
            suite.add_expectation(cls(**e["kwargs"], meta=e["meta"], severity=e["severity"]))
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=frame, data=batch, suite=suite)
        )
        context.checkpoints.add(
            gx.Checkpoint(
                name=frame,
                validation_definitions=[validation],
                actions=[],
                result_format={"result_format": "COMPLETE"},
            )
        )
    _finish_config(gx_dir)


def _class_name(type_: str) -> str:
    return type_ if type_[0].isupper() else "".join(p.title() for p in type_.split("_"))


def _finish_config(gx_dir: Path) -> None:
    """Point results and Data Docs at the data folder (substituted at run time), switch off
    analytics and progress bars, and drop what GX scaffolds but we do not use."""
    path = gx_dir / "great_expectations.yml"
    text = path.read_text(encoding="utf-8")
    replacements = {
        "base_directory: uncommitted/validations/": "base_directory: ${VALUELEDGER_GX_RESULTS}",
        "base_directory: uncommitted/data_docs/local_site/": (
            "base_directory: ${VALUELEDGER_GX_DOCS}"
        ),
        "show_how_to_buttons: true": "show_how_to_buttons: false",
        "analytics_enabled:\n": "analytics_enabled: false\n",
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    text += "progress_bars:\n  globally: false\n  metric_calculations: false\n"
    path.write_text(text, encoding="utf-8")
    shutil.rmtree(gx_dir / "uncommitted", ignore_errors=True)
    shutil.rmtree(gx_dir / "plugins", ignore_errors=True)


if __name__ == "__main__":
    build_project(Path(sys.argv[1]) if len(sys.argv) > 1 else GX_ROOT)
    print(f"GX project written to {GX_DIR}: {len(FRAMES)} suites, {len(CHECKS)} checks")
