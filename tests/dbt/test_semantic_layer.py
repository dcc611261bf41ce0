"""The semantic layer (dbt_project/models/semantic/): metrics, time spine, exposures, docs.

One `dbt docs generate` into a temporary target folder, against a throw-away warehouse, with no
network: it parses the project (semantic models, metrics and exposures included), compiles
every model and writes the catalog and the static docs site. The semantic manifest it writes
is then validated the way MetricFlow validates it.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.dbt.warehouse_fixture import REPO, build_warehouse

PROJECT_DIR = REPO / "dbt_project"
HEADLINE_METRICS = {"value_realised", "roi", "share_of_investment_delivering"}
OFFLINE = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    # Anything that tries the network fails at once instead of hanging.
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "",
}


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    from dbt.cli.main import dbtRunner  # 2-4 s import: only when the tests run

    tmp = tmp_path_factory.mktemp("docs")
    warehouse = build_warehouse(tmp / "warehouse.duckdb")
    target = tmp / "target"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUELEDGER_WAREHOUSE", str(warehouse))
        for var, value in OFFLINE.items():
            mp.setenv(var, value)
        result = dbtRunner().invoke(
            [
                "docs",
                "generate",
                "--project-dir",
                str(PROJECT_DIR),
                "--profiles-dir",
                str(PROJECT_DIR),
                "--target-path",
                str(target),
                "--log-path",
                str(tmp / "logs"),
                "--no-partial-parse",
            ]
        )
    assert result.success, result.exception
    return target


def test_docs_generate_works_offline(docs):
    for name in ("index.html", "catalog.json", "manifest.json", "semantic_manifest.json"):
        assert (docs / name).is_file(), name
    catalog = json.loads((docs / "catalog.json").read_text())
    assert catalog["nodes"] or catalog["sources"]
    # The docs site carries its scripts and styles inside: it opens offline.
    page = (docs / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=[\"']https?://", page)


def test_the_semantic_manifest_is_valid(docs):
    from dbt_semantic_interfaces.implementations.semantic_manifest import (
        PydanticSemanticManifest,
    )
    from dbt_semantic_interfaces.validations.semantic_manifest_validator import (
        SemanticManifestValidator,
    )

    raw = json.loads((docs / "semantic_manifest.json").read_text())
    manifest = PydanticSemanticManifest.parse_obj(raw)
    results = SemanticManifestValidator[PydanticSemanticManifest]().validate_semantic_manifest(
        manifest
    )
    assert not results.errors, [str(e) for e in results.errors]
    assert {m.name for m in manifest.metrics} >= HEADLINE_METRICS
    spines = manifest.project_configuration.time_spines
    assert [s.node_relation.alias for s in spines] == ["metricflow_time_spine"]
    assert spines[0].primary_column.name == "date_day"


def test_exposures_name_the_report_and_bi(docs):
    manifest = json.loads((docs / "manifest.json").read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {"html_value_report", "finance_bi"} <= set(exposures)
    report = exposures["html_value_report"]["depends_on"]["nodes"]
    assert "model.valueledger.fct_initiative_kpi_event_study" in report
    bi = exposures["finance_bi"]["depends_on"]["nodes"]
    assert "metric.valueledger.share_of_investment_delivering" in bi
