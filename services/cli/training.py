"""Retraining command: training-set."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from services.cli import context
from services.cli.registry_feedback import print_feedback


def training_set(
    campaign_ref: Annotated[str, typer.Argument(metavar="CAMPAIGN", help="Campaign id or name.")],
    compare_with: Annotated[
        str | None,
        typer.Option(
            "--compare-with",
            metavar="PATH",
            help="An existing training set (Parquet or CSV with columns text, code): list "
            "the texts whose label there differs from the experts' gold code.",
        ),
    ] = None,
) -> None:
    """Turn the coded units of the campaign's latest export into training rows.

    Each row keeps the text, the gold code, the unit's design weight and its provenance
    (campaign, nomenclature, request). With --compare-with, the texts already in a training
    set (matched after upper-casing, accent stripping and whitespace collapsing) whose label
    differs from the gold code are written beside it (codes compared in any format).

    Example: campaigns training-set sept-gold --compare-with /data/train-2026-08.parquet
    """
    from campaigns.model_registry.feedback import feed_training_set

    with context.service() as service:
        result, nomenclature = service.training_set(campaign_ref, compare_with=compare_with)
        campaign = service.campaign(campaign_ref)
        feedback = feed_training_set(
            service.settings, service.storage, campaign, result, nomenclature
        )
    context.console.print(
        f"Campaign [bold]{result.campaign_id}[/] (export {result.version}): {result.rows} "
        f"training rows ({escape(nomenclature)})\n  stored at {escape(result.uri)}"
    )
    if result.conflicts_uri is not None:
        context.console.print(
            f"{result.conflicts} label conflict(s) with {escape(compare_with or '')}\n"
            f"  stored at {escape(result.conflicts_uri)}"
        )
    print_feedback(feedback)


def register(app: typer.Typer) -> None:
    app.command("training-set")(training_set)
