"""``campaigns estimate``: label-free accuracy of recent traffic, beside a gold-sample estimate."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Column, Table

from campaigns.errors import InvalidArgumentError
from services.cli import context

if TYPE_CHECKING:
    from campaigns.metrics.monitoring import AccuracyCheck


def _pct(value: Any) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1%}"


def _interval(low: Any, high: Any) -> str:
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "-"
    return f"[{low:.1%}, {high:.1%}]"


def _print(check: AccuracyCheck) -> None:
    label_free, comparison = check.label_free, check.comparison
    reference_name, gold_name = escape(check.reference), escape(check.gold)
    window = label_free.window.describe() if label_free.window else "-"
    table = Table(
        Column("accuracy", no_wrap=True),
        Column("estimate", no_wrap=True),
        Column("95% interval", no_wrap=True),
        Column("n", no_wrap=True),
        title=f"Accuracy of the traffic {window}",
        caption=f"label-free: the window's top-1 scores, calibrated on {reference_name}'s gold",
    )
    gold = comparison["gold"]
    table.add_row(
        f"label-free ({reference_name})",
        _pct(label_free.estimate),
        _interval(label_free.ci_low, label_free.ci_high),
        f"{label_free.n_traffic:,} requests",
    )
    table.add_row(
        f"gold sample ({gold_name})",
        _pct(gold["estimate"]),
        _interval(gold["ci_low"], gold["ci_high"]),
        f"{gold['n'] or 0:,} coded units",
    )
    table.add_row("[dim]raw mean score[/]", f"[dim]{_pct(label_free.mean_score)}[/]", "", "")
    context.console.print(table)
    gap = comparison["gap"]
    context.console.print(
        f"Gap (label-free - gold): {'-' if math.isnan(gap) else f'{gap * 100:+.1f} points'}; "
        f"calibration fitted on {label_free.n_reference:,} coded units of {reference_name}, "
        f"interval from {label_free.replicates} bootstrap refits.",
        highlight=False,
    )
    if comparison["diverged"]:
        context.console.print(
            "[bold yellow]WARNING[/][yellow] the label-free and the gold-sample estimates part "
            "ways (their 95% intervals do not overlap): the top-1 score no longer tells how "
            "often the model is right - a sign of concept drift or a nomenclature change. "
            "Trust the gold figure, and recalibrate on a recent gold sample (pass it as "
            "CAMPAIGN) before relying on the label-free one again.[/]",
            highlight=False,
        )
    elif not math.isnan(gap):
        context.console.print("[green]The two estimates agree (their intervals overlap).[/]")
    if not check.same_window:
        context.console.print(
            f"[dim]Note: the gold sample is from {check.gold_window.describe()}, not from the "
            "window: a gap may only reflect how the score distribution moved since (which the "
            "label-free figure follows). For a drift check, compare with a gold sample of the "
            "same window: --gold CAMPAIGN, --end and --days matching its sample.[/]",
            highlight=False,
        )
    if check.extrapolates:
        context.console.print(
            f"[yellow]{label_free.sparse_share:.0%} of the traffic scores lie where "
            f"{reference_name} has hardly any unit (beyond its 20 lowest or highest scores): "
            "the calibration extrapolates there and the label-free figure may be biased "
            "beyond its interval. Stratify the next gold sample by confidence.[/]",
            highlight=False,
        )


def estimate(
    reference: Annotated[
        str,
        typer.Argument(
            metavar="CAMPAIGN",
            help="Campaign (id or name) whose latest gold export calibrates the scores.",
        ),
    ],
    days: Annotated[int, typer.Option(min=1, help="Window: this many days up to --end.")] = 30,
    end: Annotated[
        str | None, typer.Option(help="Last day of the window (YYYY-MM-DD), default today.")
    ] = None,
    replicates: Annotated[
        int, typer.Option(min=2, help="Bootstrap refits of the calibration (the interval).")
    ] = 200,
    gold: Annotated[
        str | None,
        typer.Option(
            metavar="CAMPAIGN",
            help="Campaign whose gold accuracy to show beside (default: the reference); "
            "a newer campaign sampled from the window makes it a concept-drift check.",
        ),
    ] = None,
    max_rows: Annotated[
        int | None,
        typer.Option(
            min=1, help="Average over a reproducible random subsample of this many requests."
        ),
    ] = None,
) -> None:
    """Label-free accuracy of recent traffic from the model's own scores, beside the gold one.

    Calibrates the top-1 score on the reference campaign's gold sample (weighted isotonic
    regression), averages the calibrated probability of being right over the window's
    requests (confidence-based performance estimation, as NannyML's CBPE) and shows it with
    its 95% interval (a bootstrap over the reference sample) beside the gold-sample
    accuracy and its interval. It holds while P(right | score) does not change: when the two
    intervals do not overlap, a yellow warning says the relation has moved (concept drift or
    a nomenclature change).

    Example: campaigns estimate sept-gold --days 7 --gold oct-gold
    """
    try:
        last = date.fromisoformat(end) if end else datetime.now(UTC).date()
    except ValueError as err:
        raise InvalidArgumentError(f"Invalid --end {end!r}.", "Use YYYY-MM-DD.") from err
    from campaigns.traffic.window import Window

    with context.service() as service:
        check = service.estimate(
            reference,
            Window.last_days(days, last),
            replicates=replicates,
            gold=gold,
            max_rows=max_rows,
        )
    _print(check)


def register(app: typer.Typer) -> None:
    app.command()(estimate)
