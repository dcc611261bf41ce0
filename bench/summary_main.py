"""The command line the benchmark's routes share: --data folder in, a JSON of row counts out."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path


def main(doc: str, run: Callable[[Path], dict]) -> None:
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder bench/scale.py made")
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the row counts")
    args = parser.parse_args()
    counts = run(args.data)
    args.out.write_text(json.dumps(counts), encoding="utf-8")
    print(counts)
