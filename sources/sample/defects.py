"""Defects for the sample sources (`generate(..., defects=True)`, `--defects`).

Every kind of bad input the loaders must catch, written so that the clean evidence stays exactly
as without defects (a run on the defective sample must produce the same marts):

- rows appended to one monthly file of a Parquet system (`wms`): unknown unit and KPI, a
  negative value, a value in the wrong unit, dates in the future and before the data starts,
  an exact duplicate and a conflicting duplicate of a row of the same file;
- extra files next to the clean ones of the CSV systems, named `*_defects*` so they load after
  them: malformed lines, values that are no numbers ('12,5', 'N/A', empty), text that is not
  UTF-8, a line longer than the CSV reader takes, a share reported as a percentage, duplicates
  of clean rows with the same and with other values, an unknown unit; whole files with the
  wrong delimiter, a missing column, nothing at all, a header only, an unexpected column;
  costs in another currency, for an unknown initiative, in the future; adoption with active
  above eligible users, negative counts, unknown ids, a date before the data starts.

Choices are drawn from the seed's `defects` stream only, so the clean files (except the one
month that receives appended rows) stay byte-identical. `DefectPlan.truth()` lists every
defect with its file, line (None for a whole-file defect) and what the loader must say, for
`ground_truth.json` and the tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from sources.portfolio.registry import Registry
from sources.sample.scenario import Scenario

TYPED_SYSTEM = "wms"  # Parquet: the typed defects are appended to one of its monthly files
TEXT_SYSTEM = "contact_centre"  # CSV with its own column names: the text defects
LONG_LINE_BYTES = 2_100_000  # DuckDB's CSV reader stops at 2,000,000 bytes per line
NOT_UTF8 = b"\xe9"  # latin-1 'e acute': not a valid UTF-8 byte sequence here


@dataclass
class Defect:
    kind: str
    table: str
    system: str
    file: str  # relative to the landing folder
    line: int | None  # 1-based data row (CSV: the physical line, header = 1); None: whole file
    expect: str  # quarantined | rejected | note
    reason: str  # a piece of the reason (or note) the loader must give

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class DefectPlan:
    """What to inject, decided up front from the `defects` stream, and what was injected."""

    rng: np.random.Generator
    registry: Registry
    scenario: Scenario
    typed_month: str  # YYYY-MM of the TYPED_SYSTEM file that receives appended rows
    defects: list[Defect] = field(default_factory=list)
    templates: dict[tuple[str, str], pa.Table] = field(default_factory=dict)

    @classmethod
    def create(cls, rng: np.random.Generator, registry: Registry, scenario: Scenario):
        start = registry.portfolio.data_starts_on
        months = sorted(
            {(start + dt.timedelta(days=d)).strftime("%Y-%m") for d in range(0, scenario.days, 28)}
        )
        # A month with a full baseline behind it and data after it, never the first or last.
        month = months[int(rng.integers(3, max(4, len(months) - 3)))]
        return cls(rng, registry, scenario, month)

    # --- the hook: every clean table passes here before it is written --------------------

    def inject(self, table_name: str, system: str, table: pa.Table) -> pa.Table:
        if table.num_rows == 0:
            return table
        month = _month_of(table)
        key = (table_name, system)
        if key not in self.templates or month == self.typed_month:
            self.templates[key] = table  # rows of clean files to build the extra files from
        typed = table_name == "kpi_observations" and system == TYPED_SYSTEM
        if typed and month == self.typed_month:
            return self._append_typed(table, f"{system}/observations_{month}.parquet")
        return table

    def _pick(self, table: pa.Table, where=None) -> dict:
        return self._pick_many(table, 1, where)[0]

    def _pick_many(self, table: pa.Table, n: int, where=None) -> list[dict]:
        """n different rows (so n different grains), at random from the defects stream."""
        rows = table.to_pylist() if where is None else [r for r in table.to_pylist() if where(r)]
        return [dict(rows[int(i)]) for i in self.rng.choice(len(rows), size=n, replace=False)]

    def _append_typed(self, table: pa.Table, file: str) -> pa.Table:
        kpis = {k.kpi_id: k for k in self.registry.kpis}
        start = self.registry.portfolio.data_starts_on
        added: list[tuple[str, dict, str]] = []

        def add(kind: str, row: dict, reason: str) -> None:
            added.append((kind, row, reason))

        r = self._pick(table)
        add("unknown_unit", {**r, "unit_id": "wh-99"}, "is not a unit of the registry")
        r = self._pick(table)
        add("unknown_kpi", {**r, "kpi_id": r["kpi_id"] + "_x"}, "is not in the KPI catalogue")
        r = self._pick(table, lambda r: kpis[r["kpi_id"]].min_value == 0 and r["value"] > 0)
        add("negative_value", {**r, "value": -r["value"]}, "is negative, impossible")

        def too_big(row: dict) -> bool:
            k = kpis[row["kpi_id"]]
            return k.unit_of_measure == "seconds" and row["value"] * 60 > (k.max_value or 0)

        r = self._pick(table, too_big)
        add("wrong_unit", {**r, "value": r["value"] * 60}, "wrong unit?")
        r = self._pick(table)
        future = r["observed_on"].replace(year=r["observed_on"].year + 100)
        add("future_date", {**r, "observed_on": future}, "is in the future")
        r = self._pick(table)
        before = start - dt.timedelta(days=400 + int(self.rng.integers(30)))
        add("before_start", {**r, "observed_on": before}, "is before the portfolio's data starts")
        r = self._pick(table)
        add("duplicate_in_file", r, "duplicate of the grain at line")
        r = self._pick(table)
        add("conflicting_in_file", {**r, "value": r["value"] * 1.05}, "duplicate of the grain")
        for n, (kind, _row, reason) in enumerate(added, start=table.num_rows + 1):
            self.defects.append(
                Defect(kind, "kpi_observations", TYPED_SYSTEM, file, n, "quarantined", reason)
            )
        extra = pa.Table.from_pylist([row for _, row, _ in added], schema=table.schema)
        return pa.concat_tables([table, extra])

    # --- extra files ------------------------------------------------------------------------

    def write_files(self, out: Path) -> list[dict]:
        """Write the extra defective files; return their manifest entries."""
        written = []
        for relative, lines, table, system, records in (
            *self._text_observation_files(),
            self._cost_file(),
            self._adoption_file(),
        ):
            path = out / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            data = b"".join(lines)
            path.write_bytes(data)
            for kind, line, expect, reason in records:
                self.defects.append(Defect(kind, table, system, relative, line, expect, reason))
            written.append(
                {
                    "path": relative,
                    "rows": max(0, data.count(b"\n") - 1),
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
        return written

    def _text_observation_files(self):
        system = TEXT_SYSTEM
        names = self.scenario.systems[system].columns
        cols = ["unit_id", "kpi_id", "observed_on", "value", "weight"]
        header = ",".join(names.get(c, c) for c in cols)
        template = self.templates[("kpi_observations", system)]

        def line(row: dict, **change) -> bytes:
            row = {**row, **change}
            return (",".join(_csv(row[c]) for c in cols) + "\n").encode()

        # Each defect on a row of its own (a grain of its own), of a KPI in minutes.
        a, b, c, d, e, f, g, h, i = self._pick_many(
            template, 9, lambda r: r["kpi_id"] == "aht_minutes"
        )
        share = self._pick(template, lambda r: r["kpi_id"] == "first_contact_resolution")
        rows: list[tuple[str, bytes, str, str]] = [
            ("malformed_line", line(a)[:-1] + b",surplus\n", "quarantined", "malformed line"),
            ("decimal_comma", line(b, value='"12,5"'), "quarantined", "'12,5' is not a number"),
            ("not_a_number", line(c, value="N/A"), "quarantined", "'N/A' is not a number"),
            ("empty_value", line(d, value=""), "quarantined", "value is empty"),
            (
                "not_utf8",
                line(e, kpi_id="NOT_UTF8").replace(b"NOT_UTF8", b"aht_minut" + NOT_UTF8 + b"s"),
                "quarantined",
                "not UTF-8",
            ),
            (
                "very_long_line",
                line(f, kpi_id="x" * LONG_LINE_BYTES),
                "quarantined",
                "the line is too long",
            ),
            (
                "percent_for_share",
                line(share, value=share["value"] * 100),
                "quarantined",
                "wrong unit? divided by 100",
            ),
            ("duplicate_across_files", line(g), "quarantined", "grain already loaded from"),
            (
                "conflicting_across_files",
                line(h, value=round(h["value"] * 1.05, 6)),
                "quarantined",
                "with other values",
            ),
            ("unknown_unit", line(i, unit_id="cc-99"), "quarantined", "is not a unit"),
        ]
        head = (header + "\n").encode()
        yield (
            f"{system}/observations_defects.csv",
            [head, *(b for _, b, _, _ in rows)],
            "kpi_observations",
            system,
            [(kind, n, expect, reason) for n, (kind, _, expect, reason) in enumerate(rows, 2)],
        )
        clean = line(self._pick(template))
        yield (
            f"{system}/observations_defects_semicolon.csv",
            [(header.replace(",", ";") + "\n").encode(), clean.replace(b",", b";")],
            "kpi_observations",
            system,
            [("wrong_delimiter", None, "rejected", "is the delimiter different")],
        )
        without = [c for c in cols if c != "value"]
        yield (
            f"{system}/observations_defects_missing_column.csv",
            [
                (",".join(names.get(c, c) for c in without) + "\n").encode(),
                (",".join(_csv(a[c]) for c in without) + "\n").encode(),
            ],
            "kpi_observations",
            system,
            [("missing_column", None, "rejected", "missing required column(s) value")],
        )
        yield (
            f"{system}/observations_defects_empty.csv",
            [],
            "kpi_observations",
            system,
            [("empty_file", None, "rejected", "the file is empty")],
        )
        yield (
            f"{system}/observations_defects_header_only.csv",
            [head],
            "kpi_observations",
            system,
            [("header_only", None, "note", "header only")],
        )
        copy = self._pick(template)
        yield (
            f"{system}/observations_defects_extra_column.csv",
            [(header + ",comment\n").encode(), line(copy)[:-1] + b",re-sent\n"],
            "kpi_observations",
            system,
            [
                ("extra_column", None, "note", "ignored unexpected column(s) ['comment']"),
                ("duplicate_across_files", 2, "quarantined", "grain already loaded from"),
            ],
        )

    def _cost_file(self):
        template = self.templates[("ai_costs", "finance_ledger")]
        cols = ["initiative_id", "cost_month", "cost_category", "amount", "currency"]

        def line(row: dict, **change) -> bytes:
            row = {**row, **change}
            return (",".join(_csv(row[c]) for c in cols) + "\n").encode()

        r = self._pick(template)
        future = r["cost_month"].replace(year=r["cost_month"].year + 100)
        rows = [
            ("wrong_currency", line(r, currency="USD", cost_category="audit"), "not the portfolio"),
            ("unknown_initiative", line(r, initiative_id="ops-teleport"), "is not an initiative"),
            ("future_date", line(r, cost_month=future, cost_category="audit"), "in the future"),
            ("conflicting_across_files", line(r, amount=r["amount"] + 100.0), "other values"),
        ]
        return (
            "finance_ledger/ai_costs_defects.csv",
            [(",".join(cols) + "\n").encode(), *(b for _, b, _ in rows)],
            "ai_costs",
            "finance_ledger",
            [(kind, n, "quarantined", reason) for n, (kind, _, reason) in enumerate(rows, 2)],
        )

    def _adoption_file(self):
        template = self.templates[("adoption", "ai_platform")]
        cols = ["initiative_id", "unit_id", "observed_on", "active_users", "eligible_users"]
        start = self.registry.portfolio.data_starts_on

        def line(row: dict, **change) -> bytes:
            row = {**row, **change}
            return (",".join(_csv(row[c]) for c in cols) + "\n").encode()

        r = self._pick(template, lambda r: r["active_users"] > 0)
        day = r["observed_on"] + dt.timedelta(days=1)  # not a Monday: a new grain
        rows = [
            (
                "active_above_eligible",
                line(r, observed_on=day, active_users=r["eligible_users"] + 5),
                "exceeds eligible_users",
            ),
            (
                "negative_value",
                line(r, observed_on=day + dt.timedelta(days=1), active_users=-3),
                "is negative",
            ),
            ("unknown_unit", line(r, unit_id="cc-99"), "is not a unit"),
            ("unknown_initiative", line(r, initiative_id="cs-mind-reader"), "is not an initiative"),
            (
                "before_start",
                line(r, observed_on=start - dt.timedelta(days=7)),
                "before the portfolio's data starts",
            ),
            ("duplicate_across_files", line(r), "grain already loaded from"),
        ]
        return (
            "ai_platform/adoption_defects.csv",
            [(",".join(cols) + "\n").encode(), *(b for _, b, _ in rows)],
            "adoption",
            "ai_platform",
            [(kind, n, "quarantined", reason) for n, (kind, _, reason) in enumerate(rows, 2)],
        )

    def truth(self) -> list[dict]:
        return [d.as_dict() for d in self.defects]


def _month_of(table: pa.Table) -> str:
    column = "observed_on" if "observed_on" in table.column_names else "cost_month"
    return table[column][0].as_py().strftime("%Y-%m")


def _csv(value) -> str:
    """A value as the clean CSV files write it (whole numbers without .0, empty for null)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
