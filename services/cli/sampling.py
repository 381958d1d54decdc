"""Sampling commands: sample, samples."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from campaigns import crud
from campaigns.samples import draw_sample
from campaigns.traffic import Window
from services.cli import context


def sample(
    size: Annotated[int, typer.Option("--size", "-n", help="Number of units to draw.")],
    days: Annotated[int, typer.Option(help="Window: this many days up to --end.")] = 90,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), default today.")] = None,
    seed: Annotated[int, typer.Option(help="Seed: same window + design + seed = same sample.")] = 0,
) -> None:
    """Draw a simple random sample (without replacement) of recent traffic.

    Each unit keeps its inclusion probability n/N and design weight N/n, so estimates made
    from the annotated sample are unbiased for the whole window's traffic.

    Example: campaigns sample --days 90 --size 2000 --seed 42
    """
    window = Window.last_days(days, date.fromisoformat(end) if end else None)
    with context.session() as session:
        drawn = draw_sample(session, context.storage(), window, size=size, seed=seed)
        context.console.print(
            f"Sample [bold]{drawn.id}[/]: {drawn.sample_size} of {drawn.population_size} "
            f"requests ({window.describe()}), inclusion probability "
            f"{drawn.sample_size / drawn.population_size:.6f}\n  stored at {drawn.uri}"
        )


def samples() -> None:
    """List the samples drawn so far."""
    table = Table("id", "window", "design", "seed", "n", "N")
    with context.session() as session:
        for s in crud.list_samples(session):
            table.add_row(
                s.id,
                f"{s.window_start} .. {s.window_end}",
                s.design,
                str(s.seed),
                str(s.sample_size),
                str(s.population_size),
            )
    context.console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(sample)
    app.command()(samples)
