"""Dagster assets: ingestion, dbt models, quality gates and reports.

orchestration/definitions.py loads everything defined below this package, so adding an asset
never means editing the definitions.
"""
