"""Monthly partitions of the KPI observations: which files belong to which month.

The sample and most landing folders deliver one file per month, named with it
(`observations_2025-03.csv`). A partition run (re)loads the files of its months; a file without
a month in its name belongs to no partition and is loaded by whole runs only. SQL and REST
sources stay unpartitioned: they fetch incrementally by cursor or refresh as a whole
(docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

# YYYY-MM in a file name, not part of a longer number or of a full date (YYYY-MM-DD).
_MONTH = re.compile(r"(?<!\d)(\d{4})-(0[1-9]|1[0-2])(?![\d-])")


def file_month(path: Path | str) -> dt.date | None:
    """The month a file's name carries (its first day), or None; the last one wins."""
    found = _MONTH.findall(Path(path).name)
    if not found:
        return None
    year, month = found[-1]
    return dt.date(int(year), int(month), 1)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from first's to last's, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def files_of_months(paths: Iterable[Path], months: Iterable[dt.date]) -> list[Path]:
    wanted = set(months)
    return [p for p in paths if file_month(p) in wanted]
