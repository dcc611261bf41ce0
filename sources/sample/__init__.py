"""Deterministic sample sources for the fictional Halden Group (see generate.py, scenario.yaml)."""
