"""Bad inputs: each is caught with a message naming the file, line or field and what to do,
and nothing loaded before is lost. Every load keeps rows read = rows loaded + rows quarantined.

Registry mistakes (duplicate ids, unknown KPIs, targets in the wrong direction) are covered by
tests/sources/test_registry.py; here only names that look like code, through the registry asset.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from assets.ingest.registry import portfolio_registry
from assets.quality.profiles import late_for_frozen_baseline
from orchestration.resources import Inputs, Warehouse
from sources.connectors.batch import LoadResult
from sources.files import load_file, load_source
from sources.portfolio.registry import parse_registry
from tests.quality.warehouse import CC_HEADER, REGISTRY, REGISTRY_PATH, TODAY, config, rules

CC = config("contact_centre")
COSTS = config("finance_ledger")
ADOPTION = config("ai_platform")
RULES = rules()


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def _cc(tmp_path: Path, name: str, *rows: str, header: str = CC_HEADER) -> Path:
    """A contact-centre file that sources.yaml's glob finds (observations_<name>)."""
    path = tmp_path / "contact_centre" / f"observations_{name}"
    return _write(path, header + "".join(r + "\n" for r in rows))


def _load(con, cfg, path, **kw) -> LoadResult:
    result = load_file(con, cfg, path, rules=kw.pop("rules", RULES), **kw)
    assert result.rows_read == result.rows_loaded + result.rows_quarantined
    return result


def _reasons(con, path: Path) -> dict[int | None, str]:
    rows = con.execute(
        "select source_row, reason from raw.quarantine where source_file = ?", [str(path)]
    ).fetchall()
    return dict(rows)


def _loaded(con) -> int:
    return con.execute("select count(*) from raw.kpi_observations").fetchone()[0]


def test_malformed_csv_line_is_quarantined_with_its_line(con, tmp_path):
    f = _cc(
        tmp_path,
        "a.csv",
        "cc-01,aht_minutes,2025-01-01,8.5,100",
        "cc-01,aht_minutes,2025-01-02,8.5,100,surplus",
        '"cc-01,aht_minutes,2025-01-03,8.5,100',
    )
    result = _load(con, CC, f)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    reasons = _reasons(con, f)
    assert reasons[3].startswith("malformed line: more fields than the header: quote values")
    assert "a quote is not closed" in reasons[4]


def test_wrong_delimiter_rejects_the_file_with_a_hint_and_keeps_its_earlier_rows(con, tmp_path):
    f = _cc(tmp_path, "a.csv", "cc-01,aht_minutes,2025-01-01,8.5,100")
    load_source(con, CC, tmp_path, rules=RULES)
    _cc(
        tmp_path,
        "a.csv",
        "cc-01;aht_minutes;2025-01-02;8.5;100",
        header=CC_HEADER.replace(",", ";"),
    )
    [result] = load_source(con, CC, tmp_path, rules=RULES)
    assert str(f) in result.error and "missing required column(s)" in result.error
    assert "is the delimiter different? Set it in sources.yaml" in result.error
    assert _loaded(con) == 1  # the rows of the earlier version stay
    assert _reasons(con, f) == {None: result.error}


def test_missing_required_column_names_it_and_what_to_do(con, tmp_path):
    f = _cc(
        tmp_path,
        "a.csv",
        "cc-01,aht_minutes,2025-01-01,100",
        header="centre,metric,date,contacts\n",
    )
    [result] = load_source(con, CC, tmp_path, rules=RULES)
    assert f"{f}: missing required column(s) value" in result.error
    assert "Add the columns to the source or fix the mapping for 'contact_centre'" in result.error


def test_unexpected_extra_columns_are_noted_and_the_rows_load(con, tmp_path):
    f = _cc(
        tmp_path,
        "a.csv",
        "cc-01,aht_minutes,2025-01-01,8.5,100,call back",
        header=CC_HEADER.rstrip("\n") + ",comment\n",
    )
    result = _load(con, CC, f)
    assert result.rows_loaded == 1
    assert result.notes == [f"{f}: ignored unexpected column(s) ['comment']"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"12,5"', "value '12,5' is not a number (use a dot for decimals, no thousands separator)"),
        ("N/A", "value 'N/A' is not a number (use a dot for decimals"),
        ("", "value is empty"),
    ],
    ids=["decimal-comma", "n/a", "empty"],
)
def test_wrong_types_name_the_field_and_the_fix(con, tmp_path, value, reason):
    f = _cc(
        tmp_path,
        "a.csv",
        "cc-01,aht_minutes,2025-01-01,8.5,100",
        f"cc-01,aht_minutes,2025-01-02,{value},100",
    )
    result = _load(con, CC, f)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert reason in _reasons(con, f)[3]


def test_empty_file_is_rejected_and_header_only_is_noted(con, tmp_path):
    empty = _write(tmp_path / "contact_centre" / "observations_empty.csv", "")
    header = _cc(tmp_path, "header.csv")
    results = {Path(r.file).name[13:]: r for r in load_source(con, CC, tmp_path, rules=RULES)}
    assert results["empty.csv"].error == (
        f"{empty}: the file is empty; expected a header line and data rows"
    )
    assert results["header.csv"].rows_read == 0 and not results["header.csv"].error
    assert results["header.csv"].notes == ["observations_header.csv: header only, no data rows"]
    del header


def test_duplicates_across_files_and_conflicting_values(con, tmp_path):
    a = _cc(
        tmp_path,
        "a.csv",
        "cc-01,aht_minutes,2025-01-01,8.5,100",
        "cc-01,aht_minutes,2025-01-02,8.5,100",
        "cc-01,aht_minutes,2025-01-02,9.1,100",
    )
    b = _cc(
        tmp_path,
        "b.csv",
        "cc-01,aht_minutes,2025-01-01,8.5,100",
        "cc-01,aht_minutes,2025-01-02,9.1,100",
    )
    results = load_source(con, CC, tmp_path, rules=RULES)
    assert [(r.rows_loaded, r.rows_quarantined) for r in results] == [(2, 1), (0, 2)]
    assert _reasons(con, a) == {4: "duplicate of the grain at line 3"}
    assert _reasons(con, b) == {
        2: f"grain already loaded from {a} line 2",
        3: f"grain already loaded from {a} line 3 with other values (value 8.5 there, 9.1 "
        "here); keep each grain in one file and correct the wrong one",
    }
    # the first file's rows are untouched by the second file
    assert _loaded(con) == 2


def test_negative_values_where_impossible(con, tmp_path):
    f = _cc(
        tmp_path,
        "a.csv",
        "cc-01,aht_minutes,2025-01-01,-8.5,100",
        "cc-01,aht_minutes,2025-01-02,8.5,-100",
    )
    _load(con, CC, f)
    reasons = _reasons(con, f)
    assert reasons[2] == (
        "value -8.5 is negative, impossible for KPI 'aht_minutes' (minutes, minimum 0); check "
        "the sign in the source"
    )
    assert reasons[3] == "weight -100 is negative; a volume or denominator cannot be"
    g = _write(
        tmp_path / "ai_platform" / "adoption_a.csv",
        "initiative_id,unit_id,observed_on,active_users,eligible_users\n"
        "cs-agent-assist,cc-01,2025-04-07,-2,100\n",
    )
    _load(con, ADOPTION, g)
    assert _reasons(con, g)[2] == "active_users -2 is negative; a count of users cannot be"


def test_a_kpi_in_the_wrong_unit_of_measure(con, tmp_path):
    f = _cc(
        tmp_path,
        "a.csv",
        "cc-01,aht_minutes,2025-01-01,510,100",  # seconds, not minutes
        "cc-01,first_contact_resolution,2025-01-01,72,100",  # a percentage, not a share
    )
    _load(con, CC, f)
    reasons = _reasons(con, f)
    assert reasons[2] == (
        "value 510 is above the maximum 60 of KPI 'aht_minutes' (minutes); wrong unit? divided "
        "by 60 it would be 8.5, which fits: convert it in the source, or with convert in "
        "sources.yaml"
    )
    assert "wrong unit? divided by 100 it would be 0.72" in reasons[3]


def test_dates_in_the_future_or_before_the_portfolio_starts(con, tmp_path):
    f = _cc(
        tmp_path,
        "a.csv",
        "cc-01,aht_minutes,2026-12-01,8.5,100",
        "cc-01,aht_minutes,2024-10-31,8.5,100",
        "cc-01,aht_minutes,2024-11-01,8.5,100",
    )
    result = _load(con, CC, f)
    assert result.rows_loaded == 1
    reasons = _reasons(con, f)
    assert reasons[2] == (
        "observed_on 2026-12-01 is in the future (the load ran on 2026-11-26); check the date, "
        "the year especially"
    )
    assert reasons[3] == (
        "observed_on 2024-10-31 is before the portfolio's data starts (2024-11-01, registry "
        "portfolio.data_starts_on); fix the date or drop the row"
    )
    # Costs may predate the evidence (a poc is paid before a KPI moves), not the future.
    g = _write(
        tmp_path / "finance_ledger" / "ai_costs.csv",
        "initiative_id,cost_month,cost_category,amount,currency\n"
        "cs-agent-assist,2024-06-01,build,100,EUR\n"
        "cs-agent-assist,2027-01-01,build,100,EUR\n",
    )
    result = _load(con, COSTS, g)
    assert (
        result.rows_loaded == 1 and "cost_month 2027-01-01 is in the future" in _reasons(con, g)[3]
    )


def test_unknown_ids_other_currency_and_more_active_than_eligible(con, tmp_path):
    f = _cc(
        tmp_path,
        "a.csv",
        "cc-99,aht_minutes,2025-01-01,8.5,100",
        "cc-01,aht_minuets,2025-01-01,8.5,100",
        "CC-01,AHT_MINUTES,2025-01-01,8.5,100",  # ids are compared as dbt reads them
    )
    result = _load(con, CC, f)
    assert result.rows_loaded == 1
    reasons = _reasons(con, f)
    assert reasons[2] == (
        "unit_id 'cc-99' is not a unit of the registry; fix the id in the source or add the unit "
        "to the registry"
    )
    assert reasons[3].startswith("kpi_id 'aht_minuets' is not in the KPI catalogue")
    # the quarantine keeps the ids it could read, to trace the rows to initiatives
    ids = con.execute("select unit_id, kpi_id from raw.quarantine where source_row = 2").fetchone()
    assert ids == ("cc-99", "aht_minutes")
    g = _write(
        tmp_path / "finance_ledger" / "ai_costs.csv",
        "initiative_id,cost_month,cost_category,amount,currency\n"
        "cs-agent-asist,2025-01-01,build,100,EUR\n"
        "cs-agent-assist,2025-01-01,build,100,USD\n",
    )
    _load(con, COSTS, g)
    assert _reasons(con, g)[2].startswith("initiative_id 'cs-agent-asist' is not an initiative")
    assert _reasons(con, g)[3] == (
        "currency 'USD' is not the portfolio currency EUR; convert the amount to EUR in the source"
    )
    h = _write(
        tmp_path / "ai_platform" / "adoption_a.csv",
        "initiative_id,unit_id,observed_on,active_users,eligible_users\n"
        "cs-agent-assist,cc-01,2025-04-07,120,100\n",
    )
    _load(con, ADOPTION, h)
    assert _reasons(con, h)[2] == (
        "active_users 120 exceeds eligible_users 100; check the two columns (swapped?) in the "
        "source"
    )


def test_text_that_is_not_utf8(con, tmp_path):
    f = _cc(tmp_path, "a.csv", "cc-01,aht_minutes,2025-01-01,8.5,100")
    f.write_bytes(
        f.read_bytes()
        + b"cc-01,aht_minut\xe9s,2025-01-02,8.5,100\n"
        + b"cc-01,aht_minutes,2025-01-03,8.5,100\n"
    )
    result = _load(con, CC, f)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    assert _reasons(con, f)[3].startswith(
        "malformed line: not UTF-8 text: re-export the file as UTF-8"
    )
    latin = _write(
        tmp_path / "contact_centre" / "observations_b.csv", "centre,m\xe9tric\n".encode("latin-1")
    )
    [_, result] = load_source(con, CC, tmp_path, rules=RULES)
    assert result.error == f"{latin}: the header is not UTF-8 text; re-export the file as UTF-8"


def test_a_very_long_line(con, tmp_path):
    f = _cc(
        tmp_path,
        "a.csv",
        "cc-01,aht_minutes,2025-01-01,8.5,100",
        "cc-01," + "x" * 2_100_000 + ",2025-01-02,8.5,100",
        "cc-01,aht_minutes,2025-01-03,8.5,100",
    )
    result = _load(con, CC, f)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    assert _reasons(con, f)[3].startswith(
        "malformed line: the line is too long to be a row: is a line break missing?"
    )


def test_fixing_a_file_or_the_registry_releases_its_rows(con, tmp_path):
    f = _cc(
        tmp_path,
        "a.csv",
        "cc-01,aht_minutes,2025-01-01,8.5,100",
        "cc-09,aht_minutes,2025-01-01,8,1",
    )
    assert _load(con, CC, f).rows_quarantined == 1
    assert _load(con, CC, f).skipped  # idempotent: same bytes, same registry
    # the registry learns the unit: the unchanged file is validated again and its row released
    raw = yaml.safe_load(REGISTRY_PATH.read_text())
    raw["units"].append({"unit_id": "cc-09", "name": "Hull", "business_unit": "customer-service"})
    grown = rules(registry=parse_registry(yaml.safe_dump(raw)))
    released = _load(con, CC, f, rules=grown)
    assert not released.skipped and (released.rows_loaded, released.rows_quarantined) == (2, 0)
    assert _reasons(con, f) == {}
    # with the old registry again it goes back to quarantine; fixing the file releases it too
    assert _load(con, CC, f).rows_quarantined == 1
    _cc(
        tmp_path,
        "a.csv",
        "cc-01,aht_minutes,2025-01-01,8.5,100",
        "cc-08,aht_minutes,2025-01-01,8,1",
    )
    assert (_load(con, CC, f).rows_loaded, _reasons(con, f)) == (2, {})


def test_late_data_for_a_frozen_baseline_is_loaded_and_reported(con, tmp_path):
    """cc-01 goes live for cs-agent-assist on 2025-04-07 (baseline from 2025-01-07): a row for
    2025-02-10 that arrives in a later load than the baseline's rows is loaded, and reported."""
    from tests.quality.warehouse import write_registry

    write_registry(con)
    first = _cc(tmp_path, "a.csv", "cc-01,aht_minutes,2025-02-09,8.5,100")
    _load(con, CC, first, loaded_at=dt.datetime(2025, 5, 1))
    late = _cc(tmp_path, "b.csv", "cc-01,aht_minutes,2025-02-10,9.5,100")
    assert _load(con, CC, late, loaded_at=dt.datetime(2025, 6, 1)).rows_loaded == 1
    found = con.execute(late_for_frozen_baseline(con, TODAY)).df()
    row = found[found["unit_id"] == "cc-01"].iloc[0]
    assert (row["n_late_rows"], row["first_late_date"].date()) == (1, dt.date(2025, 2, 10))
    assert row["late_files"] == str(late)


def test_names_that_look_like_sql_or_html_are_stored_as_plain_text(tmp_path):
    raw = yaml.safe_load(REGISTRY_PATH.read_text())
    raw = copy.deepcopy(raw)
    name = "x'; drop table raw.kpi_observations; -- <script>alert(1)</script>"
    raw["initiatives"][0]["name"] = name
    raw["initiatives"][0]["blockers"] = [{"raised_on": "2025-01-01", "text": '<b>"; --</b>'}]
    registry = _write(tmp_path / "portfolio.yaml", yaml.safe_dump(raw, sort_keys=False))
    warehouse = tmp_path / "warehouse.duckdb"
    result = dg.materialize(
        [portfolio_registry],
        resources={
            "warehouse": Warehouse(path=str(warehouse)),
            "inputs": Inputs(
                registry_path=str(registry),
                sources_config=str(tmp_path / "sources.yaml"),
                sources_dir=str(tmp_path),
                reports_dir=str(tmp_path),
            ),
        },
    )
    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute(
            "select initiative_name from raw.portfolio_initiatives where initiative_id = ?",
            [REGISTRY.initiatives[0].initiative_id],
        ).fetchone()[0]
        blocker = con.execute("select blocker_text from raw.portfolio_blockers").fetchall()
        assert con.execute("select count(*) from raw.portfolio_kpis").fetchone()[0] > 0
    assert stored == name
    assert ('<b>"; --</b>',) in blocker
