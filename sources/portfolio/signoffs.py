"""Finance sign-offs of value figures: an append-only CSV kept in git next to the registry.

One line per sign-off: who, when, which figure (initiative, KPI or all, a month or the figure to
date as of a month), the amount as the mart showed it when it was signed, the relative tolerance
it was validated to, and a comment. A later change of the figure beyond that tolerance makes the
sign-off stale in the marts (docs/method.md, "Evidence ladder, sign-off and learning library").
Lines are never edited: a new sign-off of the same figure supersedes the earlier one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sources.portfolio.registry import SLUG, Registry, RegistryError

FILE_NAME = "signoffs.csv"
ALL_KPIS = "all"
DEFAULT_TOLERANCE = 0.005
FIELDS = (
    "signed_at",
    "signed_by",
    "email",
    "initiative_id",
    "kpi_id",
    "period",
    "month",
    "figure_amount",
    "currency",
    "tolerance",
    "comment",
)
# raw.portfolio_signoffs (sources/portfolio/tables.py)
SIGNOFF_COLUMNS: dict[str, str] = {
    "signoff_line": "integer",
    "signed_at": "timestamp",
    "signed_by": "varchar",
    "signed_by_email": "varchar",
    "initiative_id": "varchar",
    "kpi_id": "varchar",
    "period": "varchar",
    "report_month": "date",
    "figure_amount": "double",
    "currency": "varchar",
    "tolerance_relative": "double",
    "comment": "varchar",
}


class SignoffError(RegistryError):
    """The sign-off file cannot be used; the message names file, line and field of each problem."""

    what = "the sign-off records"


class Signoff(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    signed_at: dt.datetime
    signed_by: str = Field(min_length=2)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    initiative_id: str = Field(pattern=SLUG)
    kpi_id: str = Field(pattern=SLUG)  # a KPI of the initiative, or "all"
    period: Literal["month", "to_date"]
    month: dt.date  # the month of the figure; for to_date, the month it runs to
    figure_amount: float
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    tolerance: float = Field(DEFAULT_TOLERANCE, ge=0, lt=1)
    comment: str = ""

    @field_validator("month", mode="before")
    @classmethod
    def _month(cls, v: object) -> object:
        # Written as YYYY-MM; a date is accepted when it is a month's first day.
        if isinstance(v, str) and len(v.strip()) == 7:
            return f"{v.strip()}-01"
        return v

    @field_validator("month")
    @classmethod
    def _first_day(cls, v: dt.date) -> dt.date:
        if v.day != 1:
            raise ValueError("a month is written YYYY-MM")
        return v

    @field_validator("signed_at")
    @classmethod
    def _utc(cls, v: dt.datetime) -> dt.datetime:
        # Stored in UTC without an offset, like every *_at column of the warehouse.
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        return v

    @property
    def is_all_kpis(self) -> bool:
        return self.kpi_id == ALL_KPIS

    def csv_row(self) -> dict[str, str]:
        return {
            "signed_at": self.signed_at.isoformat(timespec="seconds"),
            "signed_by": self.signed_by,
            "email": self.email,
            "initiative_id": self.initiative_id,
            "kpi_id": self.kpi_id,
            "period": self.period,
            "month": f"{self.month:%Y-%m}",
            "figure_amount": repr(self.figure_amount),
            "currency": self.currency,
            "tolerance": repr(self.tolerance),
            "comment": self.comment,
        }


def signoffs_path(registry_path: Path | str) -> Path:
    """The sign-off file lives next to the registry it refers to."""
    return Path(registry_path).with_name(FILE_NAME)


def _registry_problems(record: Signoff, registry: Registry) -> list[str]:
    initiatives = {i.initiative_id: i for i in registry.initiatives}
    ini = initiatives.get(record.initiative_id)
    if ini is None:
        return [f"field 'initiative_id': '{record.initiative_id}' is not in the registry"]
    kpis = {k.kpi_id for k in ini.kpis}
    if not record.is_all_kpis and record.kpi_id not in kpis:
        return [
            f"field 'kpi_id': '{record.kpi_id}' is not a KPI of '{record.initiative_id}' "
            f"(one of {', '.join(sorted(kpis)) or 'none'}, or '{ALL_KPIS}')"
        ]
    if record.currency != ini.budget.currency:
        return [
            f"field 'currency': {record.currency}, but '{record.initiative_id}' reports in "
            f"{ini.budget.currency}"
        ]
    return []


def parse_signoffs(
    text: str, path: Path | str = FILE_NAME, registry: Registry | None = None
) -> list[tuple[int, Signoff]]:
    """(line number, record) for every line; every problem reported at once."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if tuple(header) != FIELDS:
        raise SignoffError(path, [f"line 1: the header must be {','.join(FIELDS)}"])
    records, problems = [], []
    for row in reader:
        line = reader.line_num
        if None in row or any(v is None for v in row.values()):
            problems.append(f"line {line}: expected {len(FIELDS)} fields")
            continue
        values = {k: v for k, v in row.items() if not (k == "tolerance" and v.strip() == "")}
        try:
            record = Signoff.model_validate(values)
        except ValidationError as exc:
            problems += [
                f"line {line}, field '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}"
                for e in exc.errors()
            ]
            continue
        if registry is not None:
            problems += [f"line {line}, {p}" for p in _registry_problems(record, registry)]
        records.append((line, record))
    if problems:
        raise SignoffError(path, problems)
    return records


def load_signoffs(path: Path | str, registry: Registry | None = None) -> list[tuple[int, Signoff]]:
    """The records of the file; none when it does not exist (nobody has signed anything yet)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return parse_signoffs(text, path, registry)


def append_signoff(path: Path | str, record: Signoff, registry: Registry | None = None) -> int:
    """Append one record (after checking the file as it is); return its line number."""
    path = Path(path)
    existing = load_signoffs(path, registry)
    if registry is not None:
        problems = _registry_problems(record, registry)
        if problems:
            raise SignoffError(path, problems)
    new_file = not path.exists() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        if new_file:
            writer.writeheader()
        writer.writerow(record.csv_row())
    return (existing[-1][0] if existing else 1) + 1


def signoff_rows(records: list[tuple[int, Signoff]]) -> list[dict]:
    """Rows of raw.portfolio_signoffs; kpi_id is null for a sign-off of all KPIs together."""
    return [
        {
            "signoff_line": line,
            "signed_at": r.signed_at,
            "signed_by": r.signed_by,
            "signed_by_email": r.email,
            "initiative_id": r.initiative_id,
            "kpi_id": None if r.is_all_kpis else r.kpi_id,
            "period": r.period,
            "report_month": r.month,
            "figure_amount": r.figure_amount,
            "currency": r.currency,
            "tolerance_relative": r.tolerance,
            "comment": r.comment,
        }
        for line, r in records
    ]
