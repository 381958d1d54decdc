"""Sampling commands: sample, plan, samples."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from campaigns.sampling.allocation import Allocation
from campaigns.sampling.options import Duplicates
from campaigns.state.enums import MAX_SAMPLE_SIZE, MAX_SEED
from services.cli import context

if TYPE_CHECKING:
    from campaigns.sampling.designs import Design
    from campaigns.traffic.window import Window

Size = Annotated[
    int,
    typer.Option(
        "--size", "-n", min=1, max=MAX_SAMPLE_SIZE, help="Number of units to draw, in all."
    ),
]
Days = Annotated[int, typer.Option(help="Window: this many days up to --end.")]
End = Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), default today.")]
Seed = Annotated[
    int,
    typer.Option(min=0, max=MAX_SEED, help="Seed: same window + design + seed = same sample."),
]
Edges = Annotated[
    str,
    typer.Option(
        "--confidence-edges",
        help="Stratify by confidence index: inner cut points, e.g. 0.3,0.6,0.8 (4 bins).",
    ),
]
BySection = Annotated[
    bool, typer.Option("--by-section", help="Stratify by the predicted code's NACE section.")
]
AllocationOpt = Annotated[
    Allocation, typer.Option(help="How the sample is spread over the strata.")
]
Minimum = Annotated[int, typer.Option(help="At least this many units per stratum.")]
Fixed = Annotated[
    str,
    typer.Option(help="Fixed allocation: 'stratum=size;stratum=size' (names from 'plan')."),
]
Prior = Annotated[
    str,
    typer.Option(
        "--prior-accuracy",
        help="Expected accuracy: one value, or one per confidence bin (Neyman, plan). "
        "Default: from the latest gold campaign on the same strata, else the window's "
        "calibrated scores.",
    ),
]
DuplicatesOpt = Annotated[
    Duplicates,
    typer.Option(
        "--duplicates",
        help="requests: the unit is the request; distinct: each distinct text once, "
        "weighted by its occurrences.",
    ),
]
ExcludePrevious = Annotated[
    bool,
    typer.Option(
        "--exclude-previous",
        help="Leave out units (same request or same text) of earlier campaigns, the old "
        "behaviour: the frame shrinks to the window minus them (the excluded share is "
        "reported). By default the whole window is the frame and a drawn text that already "
        "has one unanimous gold code in the same context reuses it (a seeded share, "
        "CAMPAIGNS_REUSE_CHECK_SHARE, still goes to experts to measure reuse).",
    ),
]


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.replace(" ", "").split(",") if x)


def _fixed(text: str) -> tuple[tuple[str, int], ...]:
    pairs = [p.split("=", 1) for p in text.split(";") if p.strip()]
    return tuple(sorted((k.strip(), int(v)) for k, v in pairs))


def _design(
    edges: str,
    by_section: bool,
    allocation: Allocation,
    minimum: int,
    fixed: str,
    prior: str,
    duplicates: Duplicates,
    exclude_previous: bool,
) -> Design:
    from campaigns.sampling.designs import Design

    return Design(
        confidence_edges=_floats(edges),
        by_section=by_section,
        allocation=Allocation.FIXED if fixed else allocation,
        minimum=minimum,
        fixed=_fixed(fixed),
        prior_accuracy=_floats(prior),
        duplicates=duplicates,
        exclude_previous=exclude_previous,
    )


def _window(days: int, end: str | None) -> Window:
    from campaigns.traffic.window import Window

    return Window.last_days(days, date.fromisoformat(end) if end else None)


def sample(
    size: Size,
    days: Days = 90,
    end: End = None,
    seed: Seed = 0,
    confidence_edges: Edges = "",
    by_section: BySection = False,
    allocation: AllocationOpt = Allocation.PROPORTIONAL,
    minimum: Minimum = 2,
    fixed: Fixed = "",
    prior_accuracy: Prior = "",
    duplicates: DuplicatesOpt = Duplicates.REQUESTS,
    exclude_previous: ExcludePrevious = False,
    margin: Annotated[
        float | None,
        typer.Option(
            help="Target half-width of the 95% interval this sample was planned for (from "
            "'campaigns plan'); stored with it, 'campaigns progress' measures against it.",
        ),
    ] = None,
) -> None:
    """Draw a probability sample of recent traffic: simple random or stratified.

    Every unit keeps its stratum, inclusion probability and design weight, so estimates made
    from the annotated sample are unbiased for the whole window's traffic. Units already in
    an earlier campaign (same request or same normalised text) are left out.

    Examples:

      campaigns sample --days 90 --size 2000 --seed 42

      campaigns sample -n 2000 --confidence-edges 0.3,0.6,0.8 --by-section

      To oversample around the automatic-coding threshold (say 0.75), put narrow bins around
      it and give them equal shares:
      campaigns sample -n 2000 --confidence-edges 0.5,0.7,0.75,0.8,0.9 --allocation equal

      Neyman allocation, priors from the latest gold campaign on the same strata (else
      the window's calibrated scores), the plan's size and margin:
      campaigns sample -n 1450 --confidence-edges 0.5,0.8 --allocation neyman --margin 0.02

      Neyman allocation, from typed priors per bin:
      campaigns sample -n 2000 --confidence-edges 0.5,0.8 --allocation neyman
      --prior-accuracy 0.6,0.85,0.97
    """
    window = _window(days, end)
    design = _design(
        confidence_edges,
        by_section,
        allocation,
        minimum,
        fixed,
        prior_accuracy,
        duplicates,
        exclude_previous,
    )
    with context.service() as service:
        drawn = service.sample(window, design, size=size, seed=seed, margin=margin)
        context.console.print(
            f"Sample [bold]{drawn.id}[/] ({drawn.design}): {drawn.sample_size} of "
            f"{drawn.population_size:,} units ({window.describe()})\n"
            f"  stored at {escape(drawn.uri)}"
        )
        source = _stored_prior_source(drawn.design_params)
        if source:
            context.console.print(f"  Neyman allocation: {escape(source)}")
        if design.stratified:
            _print_strata(service.sample_strata(drawn).to_pylist())


def _stored_prior_source(design_params: str) -> str | None:
    """The stored prior source of a drawn sample, as the plan describes it."""
    import json

    from campaigns.sampling.priors import Priors, PriorSource

    stored = json.loads(design_params or "{}").get("prior_source")
    if not stored:
        return None
    priors = Priors(
        tuple(stored["accuracy"]),
        PriorSource(stored["source"]),
        stored.get("campaign"),
        tuple(stored.get("units", ())),
    )
    values = ", ".join(f"{p:.2f}" for p in priors.accuracy)
    return f"{priors.describe()}: {values}"


def _print_strata(rows: list[dict[str, object]]) -> None:
    table = Table("stratum", "population", "sample", "inclusion prob.", "weight")
    for row in rows:
        n = int(row["sample_size"])  # type: ignore[call-overload]
        big = int(row["population"])  # type: ignore[call-overload]
        table.add_row(
            str(row["stratum"]),
            f"{big:,}",
            str(n),
            f"{n / big:.5f}",
            f"{big / n:,.1f}" if n else "-",
        )
    context.console.print(table)


def plan(
    margin: Annotated[
        float, typer.Option(help="Target half-width of the 95% interval, e.g. 0.02.")
    ] = 0.02,
    auto_coded: Annotated[
        bool,
        typer.Option(
            "--auto-coded",
            help="Plan for the error rate of the automatically coded part (confidence >= "
            "threshold; the threshold must be one of --confidence-edges).",
        ),
    ] = False,
    threshold: Annotated[
        float | None, typer.Option(help="Automatic-coding threshold (default: settings).")
    ] = None,
    days: Days = 90,
    end: End = None,
    confidence_edges: Edges = "",
    by_section: BySection = False,
    allocation: AllocationOpt = Allocation.PROPORTIONAL,
    minimum: Minimum = 2,
    prior_accuracy: Prior = "",
    duplicates: DuplicatesOpt = Duplicates.REQUESTS,
    exclude_previous: ExcludePrevious = False,
) -> None:
    """How many units a design needs for a target margin of error, per stratum.

    Uses the window's real stratum sizes and a prior accuracy per confidence bin: typed
    (--prior-accuracy, one value or one per bin), else from the latest gold campaign
    stratified the same way (its accuracy per bin, shrunk toward its overall accuracy where a
    bin has few units), else the window's top-1 scores averaged per bin (calibrated on the
    latest gold campaign if any), else 0.5, the worst case; the output says which. The
    accuracy margin is for the whole traffic; with --auto-coded, for the error rate of the
    automatically coded part.

    Example: campaigns plan --margin 0.02 --confidence-edges 0.5,0.75 --allocation neyman

    Example: campaigns plan --margin 0.02 --confidence-edges 0.5,0.75 --allocation neyman
    --prior-accuracy 0.6,0.85,0.97 --auto-coded --threshold 0.75
    """
    window = _window(days, end)
    design = _design(
        confidence_edges,
        by_section,
        allocation,
        minimum,
        "",
        prior_accuracy,
        duplicates,
        exclude_previous,
    )
    with context.service() as service:
        result = service.plan(
            window, design, margin=margin, auto_coded=auto_coded, threshold=threshold
        )
    target = "error rate of the automatically coded part" if auto_coded else "accuracy"
    context.console.print(
        f"[bold]{result.sample_size}[/] units give a 95% margin of +/-{result.margin:.4f} on "
        f"the {target} (target {margin}), {window.describe()}, {design.name} design."
    )
    if result.prior_source is not None:
        context.console.print(f"Priors: {escape(result.prior_source.describe())}.")
    table = Table("stratum", "population", "prior accuracy", "sample")
    for h, size in result.sizes.items():
        table.add_row(h, f"{result.populations[h]:,}", f"{result.priors[h]:.2f}", str(size))
    context.console.print(table)
    if not result.reachable:
        context.console.print("[yellow]Even a census does not reach the target margin.[/]")
    context.console.print(
        f"Draw it with the same design options: campaigns sample -n {result.sample_size} "
        f"--margin {margin}"
    )


def samples() -> None:
    """List the samples drawn so far."""
    table = Table("id", "window", "design", "seed", "n", "N")
    from campaigns.state import crud

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
    app.command()(plan)
    app.command()(samples)
