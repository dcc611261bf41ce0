"""The one Definitions object: loadable, one job, lineage connected from files to reports."""

from __future__ import annotations

import dagster as dg

from orchestration.definitions import defs


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("valueledger") is not None


def test_lineage_is_connected_from_landing_files_to_reports():
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    materializable = {k for k in keys if graph.get(k).is_materializable}
    external = keys - materializable
    # The only assets nobody materialises are the landed files themselves.
    assert external and all(k.path[0] == "landing" for k in external), external
    summary = dg.AssetKey("portfolio_summary")
    upstream = graph.upstream_key_iterator(summary)
    assert dg.AssetKey(["reports", "rpt_initiative_summary"]) in set(upstream)
    ancestors = set()
    frontier = [summary]
    while frontier:
        key = frontier.pop()
        for parent in graph.get(key).parent_keys:
            if parent not in ancestors:
                ancestors.add(parent)
                frontier.append(parent)
    assert dg.AssetKey(["evidence", "kpi_observations"]) in ancestors
    assert dg.AssetKey(["portfolio", "initiatives"]) in ancestors
    assert dg.AssetKey(["landing", "contact_centre"]) in ancestors
