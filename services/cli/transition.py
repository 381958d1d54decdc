"""``campaigns transition``: the NACE Rev.2 -> Rev.2.1 (NAF 2025) transition campaign."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from campaigns.errors import InputFormatError
from services.cli import context

app = typer.Typer(
    help="Recode univocal codes automatically; send multivocal ones to experts.",
    no_args_is_help=True,
)


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="A unique campaign name.")],
    input_path: Annotated[Path, typer.Option("--input", help="Parquet of (text, old code) rows.")],
    size: Annotated[int, typer.Option("--size", "-n", help="Multivocal rows to annotate.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the random sample of the queue.")] = 0,
    text_column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    code_column: Annotated[str, typer.Option(help="Column holding the NAF rév.2 code.")] = "code",
    overlap: Annotated[int, typer.Option(help="Experts per task.")] = 1,
) -> None:
    """Recode a table to NAF 2025 and create the experts' campaign for the multivocal rest.

    Univocal rows (old code with exactly one new code) are recoded automatically and never
    reach Label Studio; a random sample of the multivocal rows becomes the campaign, each task
    offering only its old code's candidates. Then: campaigns push NAME.

    Example: campaigns transition create naf2025-retail --input training.parquet --size 800
    """
    if not input_path.is_file():
        raise InputFormatError(f"No file at {input_path}.", "Give a Parquet file with --input.")
    import pyarrow.parquet as pq

    table = pq.read_table(input_path)
    with context.service() as service:
        plan, campaign = service.create_transition(
            table,
            name=name,
            size=size,
            seed=seed,
            text_column=text_column,
            code_column=code_column,
            overlap=overlap,
        )
    context.console.print(
        f"{plan.rows} rows: {plan.univocal} univocal (recoded -> {escape(plan.univocal_uri)}), "
        f"{plan.multivocal} multivocal (queue -> {escape(plan.queue_uri)}), "
        f"{plan.quarantined} quarantined {escape(str(plan.quarantine_reasons or ''))}\n"
        f"Campaign [bold]{campaign.id}[/] '{escape(name)}': {plan.sample.sample_size} of the "
        f"{plan.multivocal} multivocal rows sampled. Next: campaigns push {campaign.id}"
    )


@app.command()
def split(
    campaign_ref: Annotated[str, typer.Argument(metavar="CAMPAIGN", help="Campaign id or name.")],
) -> None:
    """For each old code, the observed share of each new code, with 95% intervals.

    Reads the campaign's latest export (run 'campaigns export' first).

    Example: campaigns transition split naf2025-retail
    """
    with context.service() as service:
        campaign = service.campaign(campaign_ref)
        shares = service.transition_split(campaign.id or 0)
    table = Table(
        "old code",
        "new code",
        "n",
        "share",
        "95% interval",
        title=f"Observed split of multivocal codes ({escape(campaign.name)})",
    )
    for row in shares.to_pylist():
        table.add_row(
            escape(row["old_code"]),
            escape(row["new_code"] or ""),
            f"{row['n']}/{row['n_old']}",
            f"{row['share']:.1%}",
            f"[{row['ci_low']:.1%}, {row['ci_high']:.1%}]",
        )
    context.console.print(table)
