"""``campaigns drift``: has the traffic moved since a baseline window? Exit code 1 says so."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from campaigns.errors import InvalidArgumentError
from campaigns.traffic.options import DEFAULT_MIN_COUNT
from services.cli import context

if TYPE_CHECKING:
    from campaigns.traffic.drift import DriftResult


def _fmt(value: float, spec: str = ".4f") -> str:
    return "-" if math.isnan(value) else format(value, spec)


def _p(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.4f}"


def _print_result(result: DriftResult, psi_max: float) -> None:
    table = Table(
        Column("scope", no_wrap=True, min_width=max(len(r.scope) for r in result.reports)),
        "n_a",
        "n_b",
        "KS stat",
        "KS p",
        "chi2 p",
        "Hellinger",
        "PSI",
        title=f"Drift: {result.b.describe()} vs baseline {result.a.describe()}",
    )
    for r in result.reports:
        psi = _fmt(r.psi)
        table.add_row(
            escape(r.scope),
            f"{r.n_a:,}",
            f"{r.n_b:,}",
            _fmt(r.ks_statistic),
            _p(r.ks_pvalue),
            _p(r.chi2_pvalue),
            _fmt(r.hellinger),
            f"[bold red]{psi}[/]" if r.psi > psi_max else psi,
        )
    context.console.print(table)
    if result.skipped_groups:
        skipped = escape(", ".join(result.skipped_groups))
        context.console.print(
            f"No report of their own (too few requests): {skipped}",
            highlight=False,
        )


def drift(
    days: Annotated[
        int, typer.Option(min=1, help="Window under test (B): this many days up to --end.")
    ] = 30,
    end: Annotated[
        str | None, typer.Option(help="Last day of window B (YYYY-MM-DD), default today.")
    ] = None,
    baseline_days: Annotated[
        int | None,
        typer.Option(
            min=1, help="Baseline window (A) length, right before B; default: same as --days."
        ),
    ] = None,
    psi_max: Annotated[
        float, typer.Option(min=0.0, help="Alert when a PSI is above this (0.2: significant).")
    ] = 0.2,
    accuracy_min: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Alert when --accuracy is below this floor."),
    ] = None,
    accuracy: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="An accuracy estimate (e.g. from the last campaign) to check."
        ),
    ] = None,
    min_count: Annotated[
        int,
        typer.Option(min=1, help="Fewest requests per window for a section to get its own report."),
    ] = DEFAULT_MIN_COUNT,
    write: Annotated[
        bool,
        typer.Option("--write/--no-write", help="Store the reports under metrics/drift (Parquet)."),
    ] = True,
) -> None:
    """Compare recent traffic with a baseline window: confidence and predicted-code drift.

    Window B is the --days days up to --end; window A the --baseline-days days right before
    it. Reports the overall confidence index (KS test, chi-square, Hellinger, PSI), the
    predicted codes, and the confidence of each NACE section, then alerts on any PSI above
    --psi-max and on --accuracy below --accuracy-min.

    Exit code 0 = no alert; exit code 1 = alert, for schedulers; 2 = error.

    Example: campaigns drift --days 7 --baseline-days 28 --accuracy-min 0.85 --accuracy 0.88
    """
    try:
        last = date.fromisoformat(end) if end else datetime.now(UTC).date()
    except ValueError as err:
        raise InvalidArgumentError(f"Invalid --end {end!r}.", "Use YYYY-MM-DD.") from err
    from campaigns.traffic.window import Window

    with context.service() as service:
        check = service.drift(
            Window.last_days(days, last),
            baseline_days=baseline_days,
            psi_max=psi_max,
            accuracy_min=accuracy_min,
            accuracy=accuracy,
            min_count=min_count,
            write=write,
        )
    _print_result(check.result, psi_max)
    if (accuracy_min is None) != (accuracy is None):
        context.console.print(
            "[yellow]The accuracy floor needs both --accuracy-min and --accuracy: not checked.[/]"
        )
    if check.uri is not None:
        context.console.print(f"Stored at {escape(check.uri)}", highlight=False)
    if check.result.alerts:
        for alert in check.result.alerts:
            context.console.print(f"[bold red]ALERT[/] {escape(alert)}", highlight=False)
        raise typer.Exit(1)
    context.console.print("[green]No alert.[/]")


def register(app: typer.Typer) -> None:
    app.command()(drift)
