"""`valueledger sign-off` and `valueledger target-check` (docs/method.md, "Evidence ladder,
sign-off and learning library"). Registered on the main parser by `register`."""

from __future__ import annotations

import argparse
import datetime as dt

from orchestration.settings import Settings
from sources.portfolio.signoffs import (
    ALL_KPIS,
    DEFAULT_TOLERANCE,
    Signoff,
    SignoffError,
    append_signoff,
    signoffs_path,
)

# The figure each kind of sign-off validates, as the mart shows it (the marts compare the same).
FIGURE_QUERIES = {
    ("all", "month"): (
        "select attributed_value_amount, currency, report_month, evidence_level "
        "from marts.fct_initiative_value_monthly where initiative_id = ? and report_month = ?"
    ),
    ("all", "to_date"): (
        "select attributed_value_to_date_amount, currency, as_of_month, evidence_level "
        "from marts.fct_initiative_returns where initiative_id = ?"
    ),
    ("kpi", "to_date"): (
        "select effects.attributed_value_amount, effects.currency, returns.as_of_month, "
        "effects.evidence_level from marts.fct_initiative_kpi_effects as effects "
        "inner join marts.fct_initiative_returns as returns "
        "on effects.initiative_id = returns.initiative_id "
        "where effects.initiative_id = ? and effects.kpi_id = ?"
    ),
}


def _warehouse(settings: Settings):
    import duckdb

    if not settings.warehouse_path.exists():
        raise SignoffError(settings.warehouse_path, ["no warehouse: run `valueledger run` first"])
    return duckdb.connect(str(settings.warehouse_path), read_only=True)


def current_figure(con, initiative_id: str, kpi_id: str, month: dt.date | None) -> tuple:
    """(amount, currency, month, evidence level) of the figure as the mart shows it now."""
    period = "month" if month is not None else "to_date"
    scope = "all" if kpi_id == ALL_KPIS else "kpi"
    if (scope, period) not in FIGURE_QUERIES:
        raise SignoffError(
            "sign-off",
            [
                "a KPI's figure is signed to date (--to-date); a month is signed for all KPIs "
                "of the initiative together (--kpi all)"
            ],
        )
    if scope == "kpi":
        params = [initiative_id, kpi_id]
    else:
        params = [initiative_id, month] if month else [initiative_id]
    row = con.execute(FIGURE_QUERIES[(scope, period)], params).fetchone()
    what = f"{initiative_id}, KPI {kpi_id}, " + (f"month {month:%Y-%m}" if month else "to date")
    if row is None or row[0] is None:
        raise SignoffError("sign-off", [f"no attributed value figure for {what} in the marts"])
    return row


def cmd_sign_off(settings: Settings, args: argparse.Namespace) -> None:
    from sources.portfolio.registry import load_registry

    registry = load_registry(settings.registry_path, settings.cache_dir)
    month = None
    if args.month:
        try:
            month = dt.date.fromisoformat(f"{args.month}-01")
        except ValueError:
            raise SignoffError("sign-off", [f"--month {args.month}: write it YYYY-MM"]) from None
    with _warehouse(settings) as con:
        amount, currency, figure_month, level = current_figure(
            con, args.initiative, args.kpi, month
        )
    signed_at = (
        dt.datetime.combine(dt.date.fromisoformat(args.on), dt.time())
        if args.on
        else dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    )
    record = Signoff(
        signed_at=signed_at,
        signed_by=args.by,
        email=args.email,
        initiative_id=args.initiative,
        kpi_id=args.kpi,
        period="month" if month else "to_date",
        month=figure_month,
        figure_amount=amount,
        currency=currency,
        tolerance=args.tolerance,
        comment=args.comment,
    )
    path = signoffs_path(settings.registry_path)
    line = append_signoff(path, record, registry)
    print(
        f"signed: {path}:{line}: {args.initiative} / {args.kpi} / {record.period} "
        f"{figure_month:%Y-%m}: {amount:,.2f} {currency} (tolerance {args.tolerance:.1%})"
    )
    if level != "attributed with passing evidence":
        print(
            f"note: the figure's evidence is '{level}'; it becomes finance-validated only once "
            "it is attributed with passing evidence (docs/method.md)"
        )
    print("the marts show the sign-off after the next `valueledger run`")


def cmd_target_check(settings: Settings, args: argparse.Namespace) -> None:
    from assets.reports.learning_library import check_target

    with _warehouse(settings) as con:
        placed = check_target(con, args.kpi, args.target)
    print(placed.sentence)


def register(sub: argparse._SubParsersAction) -> None:
    sign = sub.add_parser("sign-off", help="record a finance sign-off of a value figure")
    sign.add_argument("--initiative", required=True)
    sign.add_argument("--kpi", default=ALL_KPIS, help="a KPI of the initiative, or all (default)")
    period = sign.add_mutually_exclusive_group(required=True)
    period.add_argument("--month", help="YYYY-MM: the attributed value of that month")
    period.add_argument("--to-date", action="store_true", help="the attributed value to date")
    sign.add_argument("--by", required=True, help="name of the person signing")
    sign.add_argument("--email", required=True)
    sign.add_argument("--on", help="YYYY-MM-DD (default: now, UTC)")
    sign.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                      help="relative move of the figure that makes the sign-off stale")  # fmt: skip
    sign.add_argument("--comment", default="")
    sign.set_defaults(handler=cmd_sign_off)
    check = sub.add_parser("target-check", help="where a target falls among achieved effects")
    check.add_argument("--kpi", required=True)
    check.add_argument(
        "--target", type=float, required=True,
        help="favourable relative change, 0.15 = 15%% in the KPI's good direction",
    )  # fmt: skip
    check.set_defaults(handler=cmd_target_check)
