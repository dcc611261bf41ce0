"""valueledger command line: run the job, validate inputs, generate sample sources, start the UI."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time

from orchestration import plan_rollout
from orchestration.ladder_cli import register as register_ladder
from orchestration.settings import REPO_ROOT, Settings, apply_to_environ, get_settings


class CliError(RuntimeError):
    """A failure with a message meant for the person at the terminal."""


def _step(message: str) -> float:
    print(f"==> {message}", flush=True)
    return time.perf_counter()


def _done(started: float) -> None:
    print(f"    done in {time.perf_counter() - started:.1f} s", flush=True)


def _dagster_home(settings: Settings) -> None:
    # Runs from the CLI and from `dagster dev` share one instance below the data folder; an
    # instance the user points DAGSTER_HOME at (PostgreSQL storage...) is used as it is.
    if os.environ.get("DAGSTER_HOME"):
        return
    home = (settings.home / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        from orchestration.instance_storage import INSTANCE_YAML

        config.write_text(INSTANCE_YAML.format(base_dir=home / "history" / "runs"), "utf-8")
    os.environ["DAGSTER_HOME"] = str(home)


def cmd_validate(settings: Settings) -> None:
    from sources.files import load_sources_config
    from sources.portfolio.registry import load_registry

    registry = load_registry(settings.registry_path, settings.cache_dir)
    configs = load_sources_config(settings.sources_config)
    print(
        f"registry ok: {settings.registry_path} ({len(registry.initiatives)} initiatives, "
        f"{len(registry.kpis)} KPIs, {len(registry.units)} units)"
    )
    print(f"sources ok: {settings.sources_config} ({len(configs)} sources)")


def cmd_generate_sample(settings: Settings, seed: int, force: bool) -> None:
    from sources.sample.generate import generate

    started = _step(f"sample sources (seed {seed}) -> {settings.sources_dir}")
    manifest = generate(settings.registry_path, settings.sources_dir, seed=seed, force=force)
    print(f"    {len(manifest.get('files', []))} files")
    _done(started)


def _fmt_pct(v) -> str:
    return "-" if v is None else f"{v:+.1%}"


def _fmt_num(v) -> str:
    return "-" if v is None else f"{v:,.4g}"


def _fmt_money(v) -> str:
    return "-" if v is None else f"{v:,.0f}"


def summary_rows(con) -> list[tuple]:
    """The printed table: naive and attributed figures side by side, with the verdict."""
    rows = con.execute(
        """
        select initiative_id, current_stage, coalesce(kpi_id, '-'), baseline_value,
            current_value, change_relative, attributed_change_relative, attributed_ci_low_relative,
            attributed_ci_high_relative, evidence_verdict, has_pre_trend,
            attributed_value_to_date, attributed_roi, attributed_payback_month, evidence_status
        from reports.rpt_initiative_summary
        order by initiative_id, kpi_id
        """
    ).fetchall()
    table = []
    for (
        ini,
        stage,
        kpi,
        base,
        current,
        naive,
        attr,
        low,
        high,
        verdict,
        pre_trend,
        value,
        roi,
        payback,
        evidence,
    ) in rows:
        interval = "" if low is None else f" [{low:+.1%}, {high:+.1%}]"
        table.append(
            (
                ini,
                stage,
                kpi,
                _fmt_num(base),
                _fmt_num(current),
                _fmt_pct(naive),
                _fmt_pct(attr) + interval,
                (verdict or "-") + (" (pre-trend!)" if pre_trend else ""),
                evidence if evidence != "fail" else "FAIL: unverified",
                _fmt_money(value),
                _fmt_pct(roi),
                "-" if payback is None else f"{payback:%Y-%m}",
            )
        )
    return table


def print_summary(settings: Settings) -> None:
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        table = summary_rows(con)
        currency = con.execute("select currency from raw.portfolio_settings").fetchone()[0]
        late = con.execute("select count(*) from marts.fct_late_baseline_evidence").fetchone()[0]
        roll_up = con.execute(
            "select naive_value_amount, shrunk_value_amount "
            "from reports.rpt_portfolio_decision_grade where currency = ?",
            [currency],
        ).fetchone()
    header = (
        "initiative",
        "stage",
        "kpi",
        "baseline",
        "current",
        "naive change",
        "attributed change [95% CI]",
        "verdict",
        "evidence",
        f"attributed value ({currency})",
        "ROI",
        "payback",
    )
    rows = [header, *table]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    print()
    for n, row in enumerate(rows):
        print(
            "  ".join(
                str(c).ljust(w) if i in (0, 1, 2, 7, 8) else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    insufficient = sorted({r[0] for r in table if r[7].startswith("insufficient")})
    print(f"\ninsufficient evidence: {', '.join(insufficient) or 'none'}")
    if roll_up:
        print(
            f"portfolio value to date ({currency}): naive {roll_up[0]:,.0f}, "
            f"shrunk for the winner's curse {roll_up[1]:,.0f}"
        )
    print(f"late rows for frozen baselines (reported, not applied): {late}")
    print(f"warehouse: {settings.warehouse_path}")
    print(f"summary:   {settings.reports_dir / 'portfolio_summary.csv'}")
    print(f"report:    {settings.reports_dir / 'value_report' / 'index.html'}")
    print(f"exports:   {settings.home / 'exports' / 'latest'}")
    print(f"for BI:    {settings.home / 'published' / 'warehouse.duckdb'} (read-only copy)")


def _execute(settings: Settings, job_name: str, tags: dict, what: str) -> None:
    """Run one job of the Definitions in this process; the event stream goes to the log file."""
    _dagster_home(settings)
    started = _step("dbt manifest")
    from orchestration.dbt import ensure_manifest, make_dbt_project

    ensure_manifest(make_dbt_project())
    _done(started)
    log_path = settings.home / "logs" / "last-run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = _step(f"{what}; log: {log_path}")
    import dagster as dg

    from orchestration.definitions import defs

    job = defs.resolve_job_def(job_name)
    # Dagster's and dbt's event stream go to the log file; the terminal gets the outcome.
    with (
        open(log_path, "w", encoding="utf-8") as log,
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
        dg.DagsterInstance.get() as instance,
    ):
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags=tags,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}, "progress": {}}},
        )
    if not result.success:
        failures = [
            f"{e.step_key}: {e.event_specific_data.error.message.strip()}"
            for e in result.all_events
            if e.is_step_failure and e.event_specific_data and e.event_specific_data.error
        ]
        raise CliError(
            "the run failed:\n"
            + "\n".join(failures or ["(no step failed)"])
            + f"\nfull log: {log_path}"
        )
    _done(started)


def cmd_run(settings: Settings, seed: int, sample: bool) -> None:
    if sample:
        cmd_generate_sample(settings, seed, force=False)
    from orchestration.partitions import whole_range_tags

    # Every observation month in one run: a single-run backfill of all partitions.
    _execute(
        settings,
        "valueledger",
        whole_range_tags(),
        "materialise every asset (registry, evidence, dbt, reports)",
    )
    print_summary(settings)


def cmd_reprocess(settings: Settings, first: str, last: str | None) -> None:
    """Re-process some observation months (late or corrected files) in one run."""
    from orchestration.partitions import PARTITION_JOB, month_range_tags

    tags = month_range_tags(first, last or first)
    span = tags["dagster/asset_partition_range_start"][:7]
    if last and last != first:
        span += f" to {tags['dagster/asset_partition_range_end'][:7]}"
    _execute(
        settings,
        PARTITION_JOB,
        tags,
        f"re-process observation months {span} (their files, gates, dbt, reports)",
    )
    print_summary(settings)


def cmd_report(settings: Settings) -> None:
    """Rebuild the value report from the current warehouse (read-only) and say where it is."""
    if not settings.warehouse_path.exists():
        raise CliError(f"no warehouse at {settings.warehouse_path}: run `valueledger run` first")
    import duckdb

    from assets.reports.html import REPORT_FOLDER, ReportDataError, build_report_from_path

    started = _step(f"value report from {settings.warehouse_path}")
    try:
        result = build_report_from_path(
            settings.warehouse_path, settings.reports_dir / REPORT_FOLDER
        )
    except ReportDataError as exc:
        raise CliError(str(exc)) from None
    except duckdb.Error as exc:
        raise CliError(
            f"cannot read {settings.warehouse_path} ({exc}); if a run is writing it, wait for "
            "the run to finish (it rebuilds the report itself)"
        ) from None
    _done(started)
    for note in result.notes:
        print(f"    {note}")
    print(f"report: {result.index} ({result.pages} pages, {result.charts} charts)")
    print(f"open:   {result.index.as_uri()}")


def cmd_ui(settings: Settings) -> None:
    _dagster_home(settings)
    os.execvp(
        sys.executable,
        [sys.executable, "-m", "dagster", "dev", "-w", str(REPO_ROOT / "workspace.yaml")],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="valueledger", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="generate sample sources if needed and run the whole job")
    run.add_argument("--seed", type=int, default=7, help="seed of the sample sources")
    run.add_argument(
        "--no-sample", action="store_true", help="use the sources already in VALUELEDGER_SOURCES"
    )
    again = sub.add_parser(
        "reprocess",
        help="re-load the observation files of some months and rebuild what depends on them",
    )
    again.add_argument("month", help="first month, YYYY-MM")
    again.add_argument("last_month", nargs="?", help="last month, YYYY-MM (default: the first)")
    sub.add_parser("validate", help="check the registry and the sources configuration")
    gen = sub.add_parser("generate-sample", help="write the sample source files")
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--force", action="store_true", help="regenerate even if up to date")
    sub.add_parser("ui", help="start the Dagster UI (dagster dev)")
    sub.add_parser("summary", help="print the portfolio summary of the last run")
    sub.add_parser("report", help="rebuild the HTML value report from the current warehouse")
    register_ladder(sub)
    plan_rollout.add_parser(sub)
    args = parser.parse_args(argv)

    try:
        settings = get_settings()
        apply_to_environ(settings)
        if args.command == "run":
            cmd_run(settings, args.seed, sample=not args.no_sample)
        elif args.command == "reprocess":
            cmd_reprocess(settings, args.month, args.last_month)
        elif args.command == "validate":
            cmd_validate(settings)
        elif args.command == "generate-sample":
            cmd_generate_sample(settings, args.seed, args.force)
        elif args.command == "ui":
            cmd_ui(settings)
        elif args.command == "summary":
            print_summary(settings)
        elif args.command == "report":
            cmd_report(settings)
        else:  # subcommands in their own modules (plan-rollout, sign-off, target-check)
            args.handler(settings, args)
    except (CliError, ValueError, OSError, subprocess.CalledProcessError) as exc:
        print(f"valueledger {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
