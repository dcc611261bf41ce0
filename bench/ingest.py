"""Wall time of evidence ingestion alone: every configured source into an empty warehouse.

    python bench/ingest.py --data /tmp/valueledger-bench/data-10M   (a folder bench/scale.py made)

Then a second load of the same files (all skipped) and a load after touching one file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from assets.ingest.evidence import load_evidence
from sources.connectors.rules import EvidenceRules
from sources.files import load_sources_config
from sources.portfolio.registry import load_registry


def timed_load(con, configs, sources: Path, rules) -> tuple[float, int, int]:
    started = time.perf_counter()
    results = list(load_evidence(con, configs, sources, rules))
    seconds = time.perf_counter() - started
    return seconds, sum(r.rows_loaded for r in results), sum(r.rows_quarantined for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    configs = load_sources_config(args.data / "sources.yaml")
    rules = EvidenceRules.from_registry(load_registry(args.data / "portfolio_scaled.yaml"))
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(f"{tmp}/w.duckdb") as con:
        for what in ("empty warehouse", "unchanged files"):
            seconds, loaded, quarantined = timed_load(con, configs, args.data / "sources", rules)
            print(f"{what}: {seconds:.1f} s ({loaded:,} rows loaded, {quarantined:,} quarantined)")


if __name__ == "__main__":
    main()
