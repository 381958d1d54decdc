"""``campaigns validation``: experts confirm or correct a code someone already gave."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from campaigns.state.enums import CampaignKind
from services.cli import context

app = typer.Typer(
    help="Validation campaigns: experts confirm the model's (or a clerk's) code, or correct it.",
    no_args_is_help=True,
)


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="A unique campaign name.")],
    sample_id: Annotated[str, typer.Option("--sample", help="The sample to validate.")],
    overlap: Annotated[int, typer.Option(help="Experts per task (agreement needs >= 2).")] = 1,
    description: Annotated[str, typer.Option(help="Shown in Label Studio.")] = "",
) -> None:
    """Create a validation campaign: a Label Studio project on a drawn sample.

    Each task shows the text, its context and the code to judge: a clerk's when the sample
    has an 'assigned_code' column, else the model's top-1 with its confidence index. Experts
    answer yes or no; on no they search the nomenclature. Then: campaigns push NAME, and
    after annotation campaigns export NAME and campaigns validation metrics NAME.

    Example: campaigns validation create sept-check --sample srs-20260601-20260901-1a2b3c4d
    """
    from campaigns.state.models import CampaignCreate

    with context.service() as service:
        campaign = service.create(
            CampaignCreate(
                name=name,
                sample_id=sample_id,
                kind=CampaignKind.VALIDATION,
                description=description,
                annotations_per_task=overlap,
            )
        )
    context.console.print(
        f"Validation campaign [bold]{campaign.id}[/] '{escape(campaign.name)}' created: Label "
        f"Studio project {campaign.ls_project_id}. Next: campaigns push {campaign.id}"
    )


def _pct(figure: dict) -> str:
    if figure.get("estimate") is None or figure["estimate"] != figure["estimate"]:
        return "-"
    return f"{figure['estimate']:.1%} [{figure['ci_low']:.1%}, {figure['ci_high']:.1%}]"


@app.command()
def metrics(
    campaign_ref: context.CampaignArg,
    threshold: Annotated[
        float | None, typer.Option(help="Confidence index of automatic coding.")
    ] = None,
    write: Annotated[
        bool, typer.Option(help="Write the figures as Parquet for the dashboard.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Share of given codes confirmed, with 95% intervals, by level and by coding mode, and
    the corrections experts made. Reads the latest export (run 'campaigns export' first).

    Example: campaigns validation metrics sept-check --threshold 0.8
    """
    with context.service() as service:
        campaign = service.campaign(campaign_ref)
        outcome = service.validation_metrics(campaign.id or 0, threshold=threshold, write=write)
    result, written = outcome.metrics, outcome.written
    if as_json:
        print(json.dumps(outcome.as_json(), indent=2, default=str))
        return
    summary = result.summary
    table = Table("figure", "share confirmed [95% interval]", "units", title=escape(campaign.name))
    table.add_row(
        "confirmed (subclass)", _pct(summary["confirmed"]), str(summary["confirmed"]["n"])
    )
    for name, figure in summary["by_level"].items():
        table.add_row(f"  at {name.removeprefix('confirmed_')}", _pct(figure), str(figure["n"]))
    for mode, figure in summary["by_mode"].items():
        table.add_row(f"  {mode} coding", _pct(figure), str(figure["n"]))
    context.console.print(table)
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(summary["status_counts"].items()))
    context.console.print(f"Units annotated: {summary['units_annotated']} ({statuses})")
    corrections = result.corrections.to_pylist()
    if corrections:
        context.console.print("Most frequent corrections (given -> experts' code):")
        for row in corrections[:10]:
            context.console.print(f"  {row['given_code']} -> {row['gold_code']}: {row['n']}")
    if result.review.num_rows:
        context.console.print(
            f"{result.review.num_rows} units to review (disagreement or code in the remark)."
        )
    if written:
        context.console.print(
            f"Wrote {len(written)} tables (export {escape(outcome.export_version)})."
        )
