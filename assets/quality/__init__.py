"""Evidence gates: Great Expectations suites over the evidence, run as Dagster asset checks.

- `suites.py`: the catalogue of checks (name, level, what each tests) and the GX project it is
  written to (`gx/`: suites, validation definitions, checkpoints, committed);
- `profiles.py`: the small frames the suites validate, aggregated in DuckDB from the raw tables;
- `gates.py`: runs the checkpoints (GX imported lazily), writes `quality.evidence_checks` and
  the Data Docs;
- `evidence_checks.py`: the Dagster asset `quality/evidence_checks` with one asset check per
  catalogue entry; blocking checks hold back everything downstream (dbt, the report).
"""
