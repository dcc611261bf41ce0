"""The value report as static HTML: data (marts -> dicts), charts (inline SVG), render (pages).

Nothing here knows Dagster: `assets/reports/html_report.py` wraps `build_report` as an asset and
the CLI's `valueledger report` calls `build_report_from_path`.
"""

from assets.reports.html.data import ReportDataError
from assets.reports.html.render import (
    REPORT_FOLDER,
    ReportResult,
    build_report,
    build_report_from_path,
)

__all__ = [
    "REPORT_FOLDER",
    "ReportDataError",
    "ReportResult",
    "build_report",
    "build_report_from_path",
]
