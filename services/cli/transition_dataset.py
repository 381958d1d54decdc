"""``campaigns transition dataset / next-batch / create-batch``: the whole set in NAF 2025.

Added to the ``transition`` sub-app when ``services.cli`` imports this module (one line
there); the work is done by ``campaigns.recoding.workflow``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from campaigns.recoding.options import DEFAULT_FLOOR, DEFAULT_MIN_CONFIDENCE
from services.cli import context
from services.cli.registry_feedback import print_feedback
from services.cli.transition import app

CampaignArg = Annotated[
    str, typer.Argument(metavar="NAME", help="The transition campaign (name or id).")
]
Seed = Annotated[int, typer.Option(help="Seed of the folds, subsamples and draws.")]
Folds = Annotated[
    int, typer.Option(help="Cross-validation folds on the expert rows (0: no measure).")
]


@app.command()
def dataset(
    name: CampaignArg,
    min_confidence: Annotated[
        float,
        typer.Option(help="Predicted rows under this calibrated confidence go to experts."),
    ] = DEFAULT_MIN_CONFIDENCE,
    folds: Folds = 5,
    seed: Seed = 0,
) -> None:
    """Every input row with its NAF 2025 code and provenance, as Parquet.

    univocal (automatic), expert (gold, with agreement), predicted (a classifier restricted to
    each row's candidates, trained on univocal and expert rows), to_expert (confidence under
    --min-confidence), unknown or quarantined (with the reason). Reads every batch's latest
    export (run 'campaigns export' first); prints the model's cross-validated accuracy beside
    the majority and uniform baselines, with 95% intervals.

    Example: campaigns transition dataset naf2025-retail --min-confidence 0.6
    """
    from campaigns.model_registry.feedback import feed_transition_dataset
    from campaigns.recoding.dataset import PROVENANCES

    with context.service() as service:
        result, files, batches = service.transition_dataset(
            name, min_confidence=min_confidence, folds=folds, seed=seed
        )
        feedback = feed_transition_dataset(
            service.settings,
            service.storage,
            name,
            files.dataset,
            sum(result.counts.values()),
            [c.name for b in batches for c in b.campaigns],
        )
    console = context.console
    total = sum(result.counts.values())
    console.print(f"{total} rows -> {escape(files.dataset)}")
    counts = Table("provenance", "rows", "share", title="Rows by provenance")
    for key in PROVENANCES:
        n = result.counts.get(key, 0)
        counts.add_row(key, str(n), f"{n / total:.1%}" if total else "-")
    console.print(counts)
    run = result.run
    console.print(
        f"Expert rows: {len(run.experts)} answered in {len(batches)} batch(es); model trained "
        f"on {run.training_counts.get('univocal', 0)} univocal, "
        f"{run.training_counts.get('expert', 0)} expert and "
        f"{run.training_counts.get('title', 0)} title rows"
    )
    if run.cv is not None:
        console.print(
            f"{run.cv.folds}-fold cross-validation on {run.cv.rows} expert rows "
            "(design-weighted accuracy, 95% intervals):"
        )
        for line in run.cv.lines():
            console.print("  " + escape(line))
        per_code = result.accuracy_by_old_code.to_pylist()  # worst first
        if per_code:
            shown = ", ".join(
                f"{escape(r['old_code'])} {r['accuracy']:.0%} [{r['ci_low']:.0%}, "
                f"{r['ci_high']:.0%}] on {r['evaluated']}"
                for r in per_code[:5]
            )
            console.print(
                f"Model accuracy per old code: {per_code[0]['accuracy']:.0%} to "
                f"{per_code[-1]['accuracy']:.0%}; lowest (send experts there): {shown} "
                "(all in the split file)"
            )
    else:
        console.print("No cross-validation (fewer than two expert rows, or --folds < 2).")
    calibration = run.model.calibration
    console.print(
        "Confidence: "
        + (
            f"isotonic calibration on {calibration.rows} out-of-fold predictions"
            if calibration.calibrated
            else "raw top probability (not calibrated)"
        )
        + f"; expected accuracy of the predicted rows {result.expected_accuracy_of_predicted:.1%}"
    )
    if result.validation is not None:
        console.print(f"Validation tasks: proposed code confirmed {result.validation}")
    console.print(
        f"Split of {len(set(result.split.column('old_code').to_pylist()))} old codes -> "
        f"{escape(files.split)}"
    )
    console.print(
        f"{result.counts.get('to_expert', 0)} rows under confidence {min_confidence} -> "
        f"{escape(files.to_experts)}. Next: campaigns transition next-batch {escape(name)}"
    )
    for note in result.notes:
        console.print(f"[yellow]Note:[/] {escape(note)}")
    print_feedback(feedback)


@app.command("next-batch")
def next_batch(
    name: CampaignArg,
    size: Annotated[int, typer.Option("--size", "-n", help="Rows to draw.")] = 300,
    floor: Annotated[
        float,
        typer.Option(help="Share of the draw spread uniformly: every row keeps a chance."),
    ] = DEFAULT_FLOOR,
    validate_above: Annotated[
        float | None,
        typer.Option(
            help="Rows whose confidence reaches this become validation tasks (confirm or "
            "reject the proposed code), in a separate sample."
        ),
    ] = None,
    folds: Folds = 5,
    seed: Seed = 0,
) -> None:
    """Draw the next batch of unannotated multivocal rows, more likely where the model doubts.

    Inclusion probabilities are proportional to 1 - confidence, mixed with a uniform floor;
    they are recorded with the new sample, so the split and accuracy estimates stay unbiased
    over all batches. Creates and pushes nothing: it prints the next command.

    Example: campaigns transition next-batch naf2025-retail --size 300
    """
    with context.service() as service:
        registered = service.next_transition_batch(
            name,
            size=size,
            floor=floor,
            seed=seed,
            validate_above=validate_above,
            folds=folds,
        )
        samples = [(s.id, s.sample_size) for s in registered.samples]
    plan = registered.plan
    console = context.console
    console.print(
        f"Batch {registered.round} ({registered.batch_id}): {plan.table.num_rows} of the "
        f"{plan.pool} undrawn multivocal rows, inclusion probabilities "
        f"{plan.pi_min:.4f} to {plan.pi_max:.4f} (floor {plan.floor:.0%})"
    )
    cv = plan.run.cv
    if cv is not None:
        console.print(f"Model accuracy so far: {escape(str(cv.accuracy['model']))}")
    for sample_id, n in samples:
        console.print(f"  sample {escape(sample_id)}: {n} rows")
    first = samples[0][0]
    console.print(
        f"Next: campaigns transition create-batch {escape(name)} --sample {escape(first)}, "
        "then campaigns push <the new campaign>"
    )


@app.command("create-batch")
def create_batch(
    name: CampaignArg,
    sample_id: Annotated[str, typer.Option("--sample", help="A sample made by next-batch.")],
    campaign_name: Annotated[
        str | None, typer.Option("--name", help="Name of the new campaign (NAME-rK).")
    ] = None,
    overlap: Annotated[int, typer.Option(help="Experts per task.")] = 1,
) -> None:
    """Create the transition campaign of a batch drawn by next-batch (then push it).

    On the batch's own sample experts choose among the candidates; on its '-validate' sample
    (drawn with --validate-above) they confirm or reject the proposed code, and on "no" pick
    among the other candidates.

    Example: campaigns transition create-batch naf2025-retail --sample transition-batch-1a2b3c
    """
    with context.service() as service:
        campaign = service.create_transition_batch(
            name, sample_id, name=campaign_name, overlap=overlap
        )
        cid, cname = campaign.id, campaign.name
    context.console.print(
        f"Campaign [bold]{cid}[/] '{escape(cname)}' created on {escape(sample_id)}. "
        f"Next: campaigns push {cid}"
    )
