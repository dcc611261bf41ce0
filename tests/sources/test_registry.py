"""The portfolio registry: the sample is valid, and every mistake is named precisely."""

from __future__ import annotations

import copy

import pytest
import yaml

from orchestration.settings import REPO_ROOT
from sources.portfolio import registry as registry_module
from sources.portfolio.registry import RegistryError, load_registry, parse_registry
from sources.portfolio.tables import PORTFOLIO_COLUMNS, portfolio_tables

SAMPLE = REPO_ROOT / "sources" / "portfolio" / "portfolio.yaml"


@pytest.fixture(scope="module")
def sample_raw() -> dict:
    return yaml.safe_load(SAMPLE.read_text())


def _problems(raw: dict, tmp_path) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    message = str(info.value)
    assert str(path) in message
    return message


def _write(tmp_path, raw: dict):
    path = tmp_path / "portfolio.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _initiative(raw: dict, initiative_id: str) -> dict:
    return next(i for i in raw["initiatives"] if i["initiative_id"] == initiative_id)


def test_sample_portfolio_meets_the_brief():
    reg = load_registry(SAMPLE)
    stages = {i.current_stage for i in reg.initiatives}
    assert len(reg.initiatives) >= 12
    assert stages == {"idea", "poc", "pilot", "production", "scaled", "killed"}
    assert len({i.business_unit for i in reg.initiatives}) >= 3
    assert len(reg.kpis) >= 10
    drivers = {k.value.driver for i in reg.initiatives for k in i.kpis}
    assert drivers == {"cost", "revenue", "time", "quality"}
    rolled_out = {r.unit_id for i in reg.initiatives for r in i.rollout}
    assert len(rolled_out) >= 20
    assert {u.unit_id for u in reg.units} - rolled_out, "some units must never be rolled out"
    go_lives = {r.go_live for i in reg.initiatives for r in i.rollout}
    assert len(go_lives) >= 5, "rollouts are staggered"
    as_of = reg.portfolio.data_starts_on.replace(year=reg.portfolio.data_starts_on.year + 2)
    stuck = [
        i.initiative_id
        for i in reg.initiatives
        if i.current_stage == "pilot" and (as_of - i.stages["pilot"]).days > 183
    ]
    assert len(stuck) >= 2, stuck


def test_registry_tables_have_the_declared_columns():
    tables = portfolio_tables(load_registry(SAMPLE))
    for name, rows in tables.items():
        for row in rows:
            assert list(row) == list(PORTFOLIO_COLUMNS[name]), name


def test_duplicate_initiative_id(sample_raw, tmp_path):
    raw = copy.deepcopy(sample_raw)
    raw["initiatives"].append(copy.deepcopy(raw["initiatives"][0]))
    message = _problems(raw, tmp_path)
    assert "duplicate initiative_id 'cs-agent-assist'" in message


def test_unknown_kpi_names_initiative_and_field(sample_raw, tmp_path):
    raw = copy.deepcopy(sample_raw)
    _initiative(raw, "ops-vision-qc")["kpis"][0]["kpi_id"] = "pick_erors"
    message = _problems(raw, tmp_path)
    assert "initiative 'ops-vision-qc', field 'kpis[0].kpi_id': unknown KPI 'pick_erors'" in message


def test_go_live_before_data_starts(sample_raw, tmp_path):
    raw = copy.deepcopy(sample_raw)
    _initiative(raw, "ops-pick-path")["rollout"][2]["go_live"] = "2024-06-03"
    message = _problems(raw, tmp_path)
    assert "initiative 'ops-pick-path', field 'rollout[2].go_live'" in message
    assert "before the data starts (2024-11-01)" in message


def test_stage_dates_out_of_order(sample_raw, tmp_path):
    raw = copy.deepcopy(sample_raw)
    _initiative(raw, "cs-chatbot-triage")["stages"]["pilot"] = "2024-09-01"
    message = _problems(raw, tmp_path)
    assert "initiative 'cs-chatbot-triage', field 'stages.pilot'" in message
    assert "must not go backwards" in message


def test_target_in_the_wrong_direction(sample_raw, tmp_path):
    raw = copy.deepcopy(sample_raw)
    _initiative(raw, "cs-agent-assist")["kpis"][0]["target"]["change"] = 0.12
    message = _problems(raw, tmp_path)
    assert "field 'kpis[0].target.change'" in message


def test_pydantic_errors_carry_the_initiative(sample_raw, tmp_path):
    raw = copy.deepcopy(sample_raw)
    _initiative(raw, "fin-invoice-capture")["priority"] = "urgent"
    del _initiative(raw, "fin-invoice-capture")["owner"]
    message = _problems(raw, tmp_path)
    assert "initiative 'fin-invoice-capture', field 'priority'" in message
    assert "initiative 'fin-invoice-capture', field 'owner': Field required" in message


def test_all_problems_reported_at_once(sample_raw, tmp_path):
    raw = copy.deepcopy(sample_raw)
    _initiative(raw, "ops-vision-qc")["kpis"][0]["kpi_id"] = "nope"
    _initiative(raw, "ops-pick-path")["rollout"][0]["unit_id"] = "wh-99"
    message = _problems(raw, tmp_path)
    assert "2 problem(s)" in message


def test_names_that_look_like_code_are_plain_text(sample_raw):
    raw = copy.deepcopy(sample_raw)
    raw["initiatives"][0]["name"] = (
        "'; drop table raw.kpi_observations; -- <script>alert(1)</script>"
    )
    reg = parse_registry(yaml.safe_dump(raw))
    assert reg.initiatives[0].name.startswith("'; drop table")


def test_not_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("portfolio: [unclosed\n")
    with pytest.raises(RegistryError, match="not valid YAML"):
        load_registry(path)


# --- discipline and phase gates ---------------------------------------------------------------


def test_gate_criteria_resolve_defaults_then_portfolio_then_initiative(sample_raw, tmp_path):
    from sources.portfolio.registry import DEFAULT_GATE_CRITERIA

    raw = copy.deepcopy(sample_raw)
    raw["portfolio"]["gate_criteria"] = {"production": {"min_adoption_rate": 0.5}}
    _initiative(raw, "ops-vision-qc")["gate_criteria"] = {
        "production": {"min_months_live": None},
        "scaled": {"min_value_to_cost": 2.0, "evidence_verified": False},
    }
    path = tmp_path / "gates.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    reg = load_registry(path)
    by_id = {i.initiative_id: i for i in reg.initiatives}

    plain = reg.gate_criteria_for(by_id["cs-agent-assist"])
    assert plain["production"] == {**DEFAULT_GATE_CRITERIA["production"], "min_adoption_rate": 0.5}
    assert plain["scaled"] == DEFAULT_GATE_CRITERIA["scaled"]
    tuned = reg.gate_criteria_for(by_id["ops-vision-qc"])
    assert "min_months_live" not in tuned["production"]  # null switches a criterion off
    assert tuned["production"]["min_adoption_rate"] == 0.5  # the portfolio's value is kept
    assert tuned["scaled"]["min_value_to_cost"] == 2.0
    assert "evidence_verified" not in tuned["scaled"]

    rows = [
        r
        for r in portfolio_tables(reg)["portfolio_gate_criteria"]
        if r["initiative_id"] == "ops-vision-qc" and r["to_stage"] == "scaled"
    ]
    assert {r["from_stage"] for r in rows} == {"production"}
    assert {r["criterion"]: r["threshold"] for r in rows}["measurable_value"] == 1.0
    assert "evidence_verified" not in {r["criterion"] for r in rows}


def test_sample_gates_and_discipline(sample_raw):
    reg = load_registry(SAMPLE)
    by_id = {i.initiative_id: i for i in reg.initiatives}
    assert reg.gate_criteria_for(by_id["fin-invoice-capture"])["scaled"]["min_adoption_rate"] == 0.8
    assert (
        reg.gate_criteria_for(by_id["cs-chatbot-triage"])["production"]["max_days_in_stage"] == 180
    )
    tables = portfolio_tables(reg)
    (row,) = [r for r in tables["portfolio_initiatives"] if r["initiative_id"] == "ops-pick-path"]
    assert (row["horizon_months"], row["run_rate_months"], row["adoption_window_days"]) == (
        12,
        3,
        28,
    )


def test_discipline_override_per_initiative(sample_raw, tmp_path):
    raw = copy.deepcopy(sample_raw)
    _initiative(raw, "ops-pick-path")["discipline"] = {"horizon_months": 24}
    path = tmp_path / "discipline.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    reg = load_registry(path)
    by_id = {i.initiative_id: i for i in reg.initiatives}
    assert reg.discipline_for(by_id["ops-pick-path"]).horizon_months == 24
    assert reg.discipline_for(by_id["ops-pick-path"]).run_rate_months == 3
    assert reg.discipline_for(by_id["ops-vision-qc"]).horizon_months == 12


def test_gate_typos_are_named(sample_raw, tmp_path):
    raw = copy.deepcopy(sample_raw)
    _initiative(raw, "ops-vision-qc")["gate_criteria"] = {"scaled": {"min_adoptoin_rate": 0.5}}
    _initiative(raw, "ops-pick-path")["gate_criteria"] = {"production_ready": {}}
    _initiative(raw, "cs-agent-assist")["gate_criteria"] = {"scaled": {"min_adoption_rate": 1.5}}
    message = _problems(raw, tmp_path)
    assert "initiative 'ops-vision-qc', field 'gate_criteria.scaled.min_adoptoin_rate'" in message
    assert "initiative 'ops-pick-path', field 'gate_criteria.production_ready" in message
    assert "Input should be 'poc', 'pilot', 'production' or 'scaled'" in message
    assert "initiative 'cs-agent-assist', field 'gate_criteria.scaled.min_adoption_rate'" in message


# --- the validated registry kept between runs ---------------------------------------------------


@pytest.fixture
def fresh_process(monkeypatch):
    """As in a new process: nothing parsed in memory yet."""
    monkeypatch.setattr(registry_module, "_PARSED", {})


def _no_yaml(monkeypatch):
    def parse(*_):
        raise AssertionError("parsed the YAML again instead of reading the cache")

    monkeypatch.setattr(registry_module, "_parse_registry", parse)


def test_a_new_process_reads_the_kept_registry_instead_of_parsing(
    sample_raw, tmp_path, fresh_process, monkeypatch
):
    path = _write(tmp_path, sample_raw)
    cache = tmp_path / "cache"
    first = load_registry(path, cache)
    assert len(list(cache.glob("registry-*.json"))) == 1
    monkeypatch.setattr(registry_module, "_PARSED", {})
    _no_yaml(monkeypatch)
    assert load_registry(path, cache) == first


def test_an_edited_registry_or_changed_rules_are_parsed_anew(
    sample_raw, tmp_path, fresh_process, monkeypatch
):
    path, cache = _write(tmp_path, sample_raw), tmp_path / "cache"
    load_registry(path, cache)
    edited = copy.deepcopy(sample_raw)
    edited["initiatives"][0]["name"] = "Renamed in the file"
    reg = load_registry(_write(tmp_path, edited), cache)
    assert reg.initiatives[0].name == "Renamed in the file"
    monkeypatch.setattr(registry_module, "_rules_digest", lambda: b"rules of another release")
    load_registry(path, cache)
    assert len(list(cache.glob("registry-*.json"))) == 3
    for n in range(registry_module.CACHE_KEEP + 2):
        edited["initiatives"][0]["name"] = f"edit {n}"
        load_registry(_write(tmp_path, edited), cache)
    assert len(list(cache.glob("registry-*.json"))) == registry_module.CACHE_KEEP


def test_a_torn_cache_file_is_parsed_again_and_replaced(
    sample_raw, tmp_path, fresh_process, monkeypatch
):
    path, cache = _write(tmp_path, sample_raw), tmp_path / "cache"
    first = load_registry(path, cache)
    (kept,) = cache.glob("registry-*.json")
    kept.write_text(kept.read_text()[:1000])
    monkeypatch.setattr(registry_module, "_PARSED", {})
    assert load_registry(path, cache) == first
    monkeypatch.setattr(registry_module, "_PARSED", {})
    _no_yaml(monkeypatch)
    assert load_registry(path, cache) == first


def test_an_invalid_registry_is_never_kept(sample_raw, tmp_path, fresh_process):
    raw = copy.deepcopy(sample_raw)
    raw["initiatives"].append(copy.deepcopy(raw["initiatives"][0]))
    cache = tmp_path / "cache"
    with pytest.raises(RegistryError, match="initiative"):
        load_registry(_write(tmp_path, raw), cache)
    assert not cache.exists() or not list(cache.iterdir())


def test_a_cache_that_cannot_be_written_leaves_no_half_file(
    sample_raw, tmp_path, fresh_process, monkeypatch
):
    def refuse(*_):
        raise OSError("disk full")

    monkeypatch.setattr(registry_module.os, "replace", refuse)
    cache = tmp_path / "cache"
    reg = load_registry(_write(tmp_path, sample_raw), cache)  # the run goes on, parsed
    assert reg.initiatives
    assert list(cache.iterdir()) == []
