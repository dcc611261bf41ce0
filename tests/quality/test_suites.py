"""The check catalogue, the committed GX project and the Dagster checks agree (no GX import)."""

from __future__ import annotations

import json

import yaml

from assets.quality.evidence_checks import ASSET_KEY, check_specs
from assets.quality.profiles import BUILDERS
from assets.quality.suites import CHECKS, FRAMES, GX_DIR, suite_definitions


def _committed(folder: str) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((GX_DIR / folder).glob("*.json"))}


def _normal(value):
    """GX stores numbers as floats, type names in snake case, row conditions as objects."""
    if isinstance(value, dict):
        if "pass_through_filter" in value:
            return value["pass_through_filter"]
        return {k: _normal(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def test_committed_suites_match_the_catalogue():
    """Edit assets/quality/suites.py, then `python -m assets.quality.suites` to regenerate."""
    committed = _committed("expectations")
    assert set(committed) == set(FRAMES)
    for frame, expected in suite_definitions().items():
        want = [_normal({**e, "type": _snake(e["type"])}) for e in expected]
        assert _normal(committed[frame]["expectations"]) == want, frame


def test_every_frame_has_a_validation_definition_and_checkpoint():
    definitions, checkpoints = _committed("validation_definitions"), _committed("checkpoints")
    assert set(definitions) == set(checkpoints) == set(FRAMES) == set(BUILDERS)
    for frame in FRAMES:
        assert definitions[frame]["suite"]["name"] == frame
        assert definitions[frame]["data"]["asset"]["name"] == frame
        assert [v["name"] for v in checkpoints[frame]["validation_definitions"]] == [frame]


def test_results_and_docs_go_to_the_data_folder_and_nothing_phones_home():
    config = yaml.safe_load((GX_DIR / "great_expectations.yml").read_text())
    results = config["stores"]["validation_results_store"]["store_backend"]["base_directory"]
    docs = config["data_docs_sites"]["local_site"]["store_backend"]["base_directory"]
    assert (results, docs) == ("${VALUELEDGER_GX_RESULTS}", "${VALUELEDGER_GX_DOCS}")
    assert config["analytics_enabled"] is False
    assert (GX_DIR / ".gitignore").read_text().strip() == "uncommitted/"


def test_each_check_is_a_dagster_check_blocking_only_at_the_blocking_level():
    specs = {s.name: s for s in check_specs}
    assert set(specs) == {c.name for c in CHECKS}
    for check in CHECKS:
        assert specs[check.name].asset_key == ASSET_KEY
        assert specs[check.name].blocking == (check.level == "blocking"), check.name
    levels = {c.level for c in CHECKS}
    assert levels == {"blocking", "initiative", "warn"}
