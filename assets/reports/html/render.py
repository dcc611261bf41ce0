"""Render the value report: an overview page and one page per initiative, static and offline.

`build_report(con, target)` reads the marts (data.py), draws the charts (charts.py), renders the
Jinja templates (autoescaped: every text from the registry or the warehouse is escaped) into a
fresh folder, and swaps it in: `target` is a symlink to the newest complete version, replaced by
an atomic rename, so someone reading the report never sees half of it. The newest few versions
are kept (a browser tab still showing an older one keeps working).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from assets.reports.html import charts
from assets.reports.html.data import ReportData, Section, load_report_data

TEMPLATES = Path(__file__).parent / "templates"
REPORT_FOLDER = "value_report"  # below the reports folder
KEEP_VERSIONS = 3
SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥", "CHF": "CHF "}
VERDICT_CLASS = {
    "measurable value": "good",
    "no measurable value": "neutral",
    "harmful": "bad",
    "insufficient evidence": "warn",
}
STATUS_CLASS = {
    "pass": "good",
    "warn": "warn",
    "fail": "bad",
    "advance": "good",
    "hold": "warn",
    "kill": "bad",
    "passed": "good",
    "failed": "bad",
}
FULL, HALF = 1100, 540  # viewBox widths: about the width the chart gets on screen
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,120}")


@dataclass(frozen=True)
class ReportResult:
    index: Path  # <target>/index.html (through the symlink)
    folder: Path  # the version folder the symlink points at
    pages: int
    initiatives: int
    charts: int
    notes: list[str]


# --- formatting -------------------------------------------------------------------------------


def _finite(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


class Formats:
    def __init__(self, currency: str):
        self.currency = currency
        self.symbol = SYMBOLS.get(currency, f"{currency} ")

    def money(self, v, compact: bool = True) -> str:
        if not _finite(v):
            return "–"
        sign = "-" if v < 0 else ""
        a = abs(v)
        if compact and a >= 999_500:
            body = f"{a / 1e6:,.2f}m"
        elif compact and a >= 10_000:
            body = f"{a / 1e3:,.0f}k"
        else:
            body = f"{a:,.0f}"
        return f"{sign}{self.symbol}{body}"

    def money_full(self, v) -> str:
        return self.money(v, compact=False)

    @staticmethod
    def pct(v, signed: bool = False, digits: int = 1) -> str:
        if not _finite(v):
            return "–"
        return f"{v:+.{digits}%}" if signed else f"{v:.{digits}%}"

    @staticmethod
    def num(v, signed: bool = False) -> str:
        if not _finite(v):
            return "–"
        text = f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
        return ("+" + text) if signed and v > 0 else text

    @staticmethod
    def month(v) -> str:
        return v.strftime("%b %Y") if isinstance(v, dt.date) else "–"

    @staticmethod
    def date(v) -> str:
        return v.isoformat() if isinstance(v, dt.date) else "–"

    def cell(self, column: str, v) -> str:
        """A value of an optional mart, formatted by what its column name says it is."""
        if v is None:
            return "–"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%d %H:%M")
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, float):
            if column.endswith("_amount"):
                return self.money_full(v)
            if any(k in column for k in ("share", "attainment", "relative", "roi", "pct")):
                return self.pct(v)
            return self.num(v)
        return str(v)


def page_name(initiative_id: str) -> str:
    """The file of an initiative's page: its id when it is a plain slug, else a hash of it."""
    if SAFE_NAME.fullmatch(initiative_id or ""):
        return f"{initiative_id}.html"
    return "i-" + hashlib.sha256(str(initiative_id).encode()).hexdigest()[:16] + ".html"


def _humanise(column: str) -> str:
    text = column.replace("_", " ")
    for short, long in ((" amount", ""), ("kpi", "KPI"), ("roi", "ROI"), (" id", "")):
        text = text.replace(short, long)
    return text[:1].upper() + text[1:]


# --- charts of the pages ----------------------------------------------------------------------


def _month_index(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def _month_ticks(months: list[dt.date], most: int = 8) -> list[tuple[float, str]]:
    """Calendar-aligned month ticks (every 1, 2, 3, 6 or 12 months), at most about `most`."""
    if not months:
        return []
    first, last = _month_index(min(months)), _month_index(max(months))
    step = next((s for s in (1, 2, 3, 6, 12, 24) if (last - first) / s < most), 24)
    ticks = [i for i in range(first, last + 1) if i % step == 0] or [first]
    return [(float(i), dt.date(i // 12, i % 12 + 1, 1).strftime("%b %y")) for i in ticks]


def overview_charts(data: ReportData, f: Formats) -> dict[str, Markup]:
    h = data.headline
    out = {
        "share": charts.share_bar(
            "Share of AI spend to date in production and delivering measurable value",
            [
                ("In production, delivering", h["delivering_spend_amount"], "#2f7d4f"),
                (
                    "In production, not (yet) delivering",
                    h["production_spend_amount"] - h["delivering_spend_amount"],
                    "#d08a1e",
                ),
                ("Not in production", h["other_spend_amount"], "#c9ced6"),
            ],
            f.money,
            width=600,
        ),
        "pipeline": charts.pipeline(
            "Initiatives by current stage", data.stages, f.money, width=FULL
        ),
    }
    months = [r["report_month"] for r in data.portfolio_monthly]
    out["cumulative"] = charts.xy_chart(
        charts.XYChart(
            title="Cumulative attributed value against cumulative AI spend, whole portfolio",
            lines=[
                charts.Line(
                    "Attributed value",
                    [
                        (_month_index(r["report_month"]), r["cumulative_attributed_value_amount"])
                        for r in data.portfolio_monthly
                    ],
                    charts.PALETTE["value"],
                    width=2.5,
                ),
                charts.Line(
                    "AI spend",
                    [
                        (_month_index(r["report_month"]), r["cumulative_cost_amount"])
                        for r in data.portfolio_monthly
                    ],
                    charts.PALETTE["cost"],
                    width=2.5,
                ),
            ],
            x_ticks=_month_ticks(months),
            y_format=f.money,
            y_label=f"{data.currency}, cumulative",
            width=FULL,
            height=340,
        )
    )
    if data.headline_monthly:
        hm = data.headline_monthly
        out["headline_trend"] = charts.xy_chart(
            charts.XYChart(
                title="The headline by month: share in production delivering measurable value",
                lines=[
                    charts.Line(
                        "Share of AI spend to date",
                        [
                            (_month_index(r["report_month"]), r["share_of_spend_delivering_value"])
                            for r in hm
                        ],
                        charts.PALETTE["value"],
                        width=2.5,
                    ),
                    charts.Line(
                        "Share of initiatives",
                        [
                            (
                                _month_index(r["report_month"]),
                                r.get("share_of_initiatives_delivering_value"),
                            )
                            for r in hm
                        ],
                        charts.PALETTE["net"],
                        dashed=True,
                    ),
                ],
                x_ticks=_month_ticks([r["report_month"] for r in hm]),
                y_format=lambda v: f"{v:.0%}",
                width=FULL,
                height=260,
            )
        )
    rows = sorted(
        data.initiatives,
        key=lambda i: -(i["attributed_value_to_date_amount"] or 0.0),
    )
    out["value_vs_cost"] = charts.bar_chart(
        "Attributed value and AI spend to date by initiative",
        [
            charts.BarRow(
                i["initiative_name"] or i["initiative_id"],
                [i["attributed_value_to_date_amount"], i["cost_to_date_amount"]],
                note=f"ROI {f.pct(i['attributed_roi'], signed=True, digits=0)}",
                href=f"initiatives/{quote(page_name(i['initiative_id']))}",
            )
            for i in rows
        ],
        [("Attributed value", charts.PALETTE["value"]), ("AI spend", charts.PALETTE["cost"])],
        f.money,
        label_width=300,
        width=FULL,
    )
    return out


def kpi_charts(data: ReportData, initiative_id: str, kpi: dict, f: Formats) -> dict[str, Markup]:
    name = kpi.get("kpi_name") or kpi["kpi_id"]
    unit = kpi.get("unit_of_measure") or ""
    monthly = data.kpi_monthly.get((initiative_id, kpi["kpi_id"]), [])
    xs = [_month_index(r["report_month"]) for r in monthly]
    target = [
        (x, r["baseline_value"] + r["target_change_value"])
        if _finite(r["baseline_value"]) and _finite(r["target_change_value"])
        else (x, None)
        for x, r in zip(xs, monthly, strict=True)
    ]
    over_time = charts.xy_chart(
        charts.XYChart(
            title=f"{name}: baseline, actual and counterfactual by month",
            lines=[
                charts.Line(
                    "Baseline",
                    [(x, r["baseline_value"]) for x, r in zip(xs, monthly, strict=True)],
                    charts.PALETTE["baseline"],
                    dashed=True,
                ),
                charts.Line(
                    "Counterfactual (estimate without AI)",
                    [(x, r["counterfactual_value"]) for x, r in zip(xs, monthly, strict=True)],
                    charts.PALETTE["counterfactual"],
                    width=2.2,
                ),
                charts.Line(
                    "Actual",
                    [(x, r["actual_value"]) for x, r in zip(xs, monthly, strict=True)],
                    charts.PALETTE["actual"],
                    markers=True,
                    width=2.5,
                ),
                charts.Line("Target", target, charts.PALETTE["target"], dashed=True, width=1.5),
            ],
            x_ticks=_month_ticks([r["report_month"] for r in monthly], most=6),
            y_label=unit,
            width=HALF,
        )
    )
    events = data.event_study.get((initiative_id, kpi["kpi_id"]), [])
    if events:  # months with no estimate (the go-live month) break the line and the band
        by_month = {r["event_month"]: r for r in events}
        gap = {"favourable_effect": None, "ci_low": None, "ci_high": None}
        events = [
            by_month.get(m, {"event_month": m, **gap})
            for m in range(min(by_month), max(by_month) + 1)
        ]
    event_chart = charts.xy_chart(
        charts.XYChart(
            title=f"{name}: attributed effect by month relative to go-live, 95% interval",
            bands=[
                charts.Band(
                    "95% interval",
                    [(r["event_month"], r["ci_low"], r["ci_high"]) for r in events],
                    charts.PALETTE["band"],
                )
            ],
            lines=[
                charts.Line(
                    "Favourable effect (positive = good)",
                    [(r["event_month"], r["favourable_effect"]) for r in events],
                    charts.PALETTE["actual"],
                    markers=True,
                )
            ],
            x_ticks=[
                (float(m), f"{m:+d}" if m else "0")
                for m in range(
                    min((r["event_month"] for r in events), default=0),
                    max((r["event_month"] for r in events), default=0) + 1,
                )
                if m % 2 == 0
            ],
            vlines=[(-0.5, "go-live")],
            zero_line=True,
            y_label=f"{unit}, favourable",
            height=300,
            width=HALF,
        )
    )
    return {"over_time": over_time, "event": event_chart}


def initiative_charts(data: ReportData, ini: dict, f: Formats) -> dict[str, Markup]:
    kpis = data.kpis.get(ini["initiative_id"], [])
    steps = [
        (
            (k.get("kpi_name") or k["kpi_id"]) + ("" if k.get("is_cash") else " (capacity)"),
            k.get("attributed_value_amount") or 0.0,
            "value",
        )
        for k in kpis
    ]
    cost = ini.get("cost_to_date_amount")
    if steps or _finite(cost):
        value = sum(s[1] for s in steps)
        steps += [("Value to date", value, "total")]
        steps += [("AI spend to date", cost or 0.0, "cost")]
        steps += [("Net value", value - (cost or 0.0), "total")]
    out = {
        "waterfall": charts.waterfall(
            "Attributed value by KPI, less AI spend, to date", steps, f.money, width=HALF
        ),
        "attainment": charts.bar_chart(
            "Target attainment by KPI (1 = target met)",
            [
                charts.BarRow(
                    k.get("kpi_name") or k["kpi_id"],
                    [k.get("attributed_attainment"), k.get("naive_attainment")],
                    note=k.get("evidence_verdict") or "",
                )
                for k in kpis
            ],
            [("Attributed", charts.PALETTE["net"]), ("Naive", charts.PALETTE["muted"])],
            lambda v: f"{v:.0%}",
            reference=(1.0, "target"),
            label_width=260,
            width=FULL,
        ),
    }
    monthly = data.value_monthly.get(ini["initiative_id"], [])
    xs = [_month_index(r["report_month"]) for r in monthly]
    out["cumulative"] = charts.xy_chart(
        charts.XYChart(
            title="Cumulative attributed value and AI spend by month",
            lines=[
                charts.Line(
                    "Attributed value",
                    [
                        (x, r["cumulative_attributed_value_amount"])
                        for x, r in zip(xs, monthly, strict=True)
                    ],
                    charts.PALETTE["value"],
                    width=2.5,
                ),
                charts.Line(
                    "AI spend",
                    [(x, r["cumulative_cost_amount"]) for x, r in zip(xs, monthly, strict=True)],
                    charts.PALETTE["cost"],
                    width=2.5,
                ),
            ],
            x_ticks=_month_ticks([r["report_month"] for r in monthly], most=6),
            y_format=f.money,
            zero_line=True,
            width=HALF,
        )
    )
    return out


# --- pages and the swap -----------------------------------------------------------------------


def _environment(f: Formats) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every {{ }} is escaped unless it is Markup (the charts)
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=f.money,
        money_full=f.money_full,
        pct=f.pct,
        num=f.num,
        month=f.month,
        date=f.date,
        humanise=_humanise,
        page=lambda i: quote(page_name(i)),
    )
    env.globals.update(
        verdict_class=lambda v: VERDICT_CLASS.get(v or "", "neutral"),
        status_class=lambda s: STATUS_CLASS.get(s or "", "neutral"),
        cell=f.cell,
    )
    return env


def render_pages(data: ReportData, out: Path, generated_at: dt.datetime, run_id: str) -> int:
    """Write index.html and initiatives/<id>.html into `out`; returns the number of charts."""
    f = Formats(data.currency)
    env = _environment(f)
    common = {
        "data": data,
        "generated_at": generated_at,
        "run_id": run_id,
        "sections": [data.evidence, data.gates, data.targets, data.target_changes],
    }
    n_charts = 0
    overview = overview_charts(data, f)
    n_charts += len(overview)
    (out / "index.html").write_text(
        env.get_template("overview.html.j2").render(**common, charts=overview, root=""),
        encoding="utf-8",
    )
    (out / "initiatives").mkdir()
    template = env.get_template("initiative.html.j2")
    for ini in data.initiatives:
        kpis = data.kpis.get(ini["initiative_id"], [])
        per_kpi = [(k, kpi_charts(data, ini["initiative_id"], k, f)) for k in kpis]
        page_charts = initiative_charts(data, ini, f)
        n_charts += len(page_charts) + 2 * len(per_kpi)
        (out / "initiatives" / page_name(ini["initiative_id"])).write_text(
            template.render(
                **common,
                ini=ini,
                kpis=per_kpi,
                charts=page_charts,
                root="../",
                rec=data.recommendations.get(ini["initiative_id"]),
                section_rows=lambda s, i=ini: s.rows(i["initiative_id"]),
            ),
            encoding="utf-8",
        )
    return n_charts


def swap_in(staging: Path, target: Path, keep: int = KEEP_VERSIONS) -> Path:
    """Make `target` (a symlink) point at the finished `staging` folder, atomically."""
    parent = target.parent
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version = parent / f".{target.name}-{stamp}"
    staging.rename(version)
    if target.exists() and not target.is_symlink():
        # An old real folder (not ours to swap atomically): moved aside once, then symlinks.
        target.rename(parent / f".{target.name}-{stamp}-previous")
    link_tmp = parent / f".{target.name}.link-{uuid.uuid4().hex[:8]}"
    link_tmp.symlink_to(version.name)
    os.replace(link_tmp, target)
    versions = sorted(
        p
        for p in parent.iterdir()
        if p.name.startswith(f".{target.name}-") and p.is_dir() and not p.is_symlink()
    )
    for old in versions[:-keep]:
        if old != version:
            shutil.rmtree(old, ignore_errors=True)
    return version


def build_report(
    con: duckdb.DuckDBPyConnection,
    target: Path,
    run_id: str = "",
    generated_at: dt.datetime | None = None,
) -> ReportResult:
    """Read the marts through `con` and publish the report at `target` (a folder path)."""
    generated_at = generated_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
    data = load_report_data(con, today=generated_at.date())
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        n_charts = render_pages(data, staging, generated_at, run_id)
        version = swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ReportResult(
        index=target / "index.html",
        folder=version,
        pages=1 + len(data.initiatives),
        initiatives=len(data.initiatives),
        charts=n_charts,
        notes=data.notes
        + [
            f"{s.title}: not available ({s.note})"
            for s in (data.evidence, data.gates, data.targets, data.target_changes)
            if not s.available
        ]
        + [
            f"Decision-grade statistics: not available (no {m})"
            for m in data.decision_grade.missing
        ],
    )


def build_report_from_path(warehouse: Path, target: Path, run_id: str = "") -> ReportResult:
    """The report from a warehouse file, opened read-only (the CLI's entry point)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return build_report(con, target, run_id=run_id)


__all__ = [
    "REPORT_FOLDER",
    "ReportResult",
    "Section",
    "build_report",
    "build_report_from_path",
    "page_name",
]
