"""valueledger command line: run the job, validate inputs, generate sample sources, start the UI."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from orchestration.settings import REPO_ROOT, Settings, apply_to_environ, get_settings


class CliError(RuntimeError):
    """A failure with a message meant for the person at the terminal."""


def _step(message: str) -> float:
    print(f"==> {message}", flush=True)
    return time.perf_counter()


def _done(started: float) -> None:
    print(f"    done in {time.perf_counter() - started:.1f} s", flush=True)


def _dagster_home(settings: Settings) -> None:
    # Runs from the CLI and from `dagster dev` share one instance below the data folder.
    home = Path(os.environ.get("DAGSTER_HOME") or settings.home / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home.resolve())


def cmd_validate(settings: Settings) -> None:
    from sources.files import load_sources_config
    from sources.portfolio.registry import load_registry

    registry = load_registry(settings.registry_path)
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


def print_summary(settings: Settings) -> None:
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            """
            select initiative_id, current_stage, coalesce(kpi_id, '-'), baseline_value,
                current_value, change_relative, value_to_date, roi
            from reports.rpt_initiative_summary
            order by initiative_id, kpi_id
            """
        ).fetchall()
        currency = con.execute("select currency from raw.portfolio_settings").fetchone()[0]
    header = (
        "initiative",
        "stage",
        "kpi",
        "baseline",
        "current",
        "change",
        f"value to date ({currency})",
        "ROI",
    )

    def fmt(v, kind):
        if v is None:
            return "-"
        if kind == "pct":
            return f"{v:+.1%}"
        if kind == "money":
            return f"{v:,.0f}"
        return f"{v:,.4g}"

    kinds = (None, None, None, "num", "num", "pct", "money", "pct")
    table = [header] + [
        tuple(r[i] if k is None else fmt(r[i], k) for i, k in enumerate(kinds)) for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    print()
    for n, row in enumerate(table):
        print(
            "  ".join(
                str(c).ljust(w) if i < 3 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\nwarehouse: {settings.warehouse_path}")
    print(f"summary:   {settings.reports_dir / 'portfolio_summary.csv'}")


def cmd_run(settings: Settings, seed: int, sample: bool) -> None:
    if sample:
        cmd_generate_sample(settings, seed, force=False)
    _dagster_home(settings)
    started = _step("dbt manifest")
    from orchestration.dbt import ensure_manifest, make_dbt_project

    ensure_manifest(make_dbt_project())
    _done(started)
    log_path = settings.home / "logs" / "last-run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = _step(f"materialise every asset (registry, evidence, dbt, reports); log: {log_path}")
    import dagster as dg

    from orchestration.definitions import defs

    job = defs.resolve_job_def("valueledger")
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
            run_config={
                "loggers": {"console": {"config": {"log_level": "INFO"}}, "progress": {}}
            },
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
    print_summary(settings)


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
    sub.add_parser("validate", help="check the registry and the sources configuration")
    gen = sub.add_parser("generate-sample", help="write the sample source files")
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--force", action="store_true", help="regenerate even if up to date")
    sub.add_parser("ui", help="start the Dagster UI (dagster dev)")
    sub.add_parser("summary", help="print the portfolio summary of the last run")
    args = parser.parse_args(argv)

    try:
        settings = get_settings()
        apply_to_environ(settings)
        if args.command == "run":
            cmd_run(settings, args.seed, sample=not args.no_sample)
        elif args.command == "validate":
            cmd_validate(settings)
        elif args.command == "generate-sample":
            cmd_generate_sample(settings, args.seed, args.force)
        elif args.command == "ui":
            cmd_ui(settings)
        elif args.command == "summary":
            print_summary(settings)
    except (CliError, ValueError, OSError, subprocess.CalledProcessError) as exc:
        print(f"valueledger {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
