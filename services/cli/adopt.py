"""``campaigns adopt`` and ``campaigns export --from-storage``: moving existing campaigns in.

An office that already annotates in Label Studio keeps its projects: ``adopt`` maps a
project's own controls to ours (see ``campaigns.lifecycle.adopt``), and its export storage
can feed exports instead of the API (see ``campaigns.lifecycle.storage_export``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from campaigns.state.enums import CampaignKind
from services.cli import context


def adopt(
    project_id: Annotated[int, typer.Argument(help="The Label Studio project's id (its URL).")],
    kind: Annotated[CampaignKind, typer.Option(help="What the project's experts do.")],
    name: Annotated[str, typer.Option(help="The campaign's name (letters, digits, . _ -).")],
    id_field: Annotated[
        str | None,
        typer.Option(help="Task field identifying a unit (default: the task id)."),
    ] = None,
    text_field: Annotated[
        str | None,
        typer.Option(help="Task field holding the text (default: read from the config)."),
    ] = None,
    code_field: Annotated[
        str | None,
        typer.Option(
            help="Task field of the code judged: the given code (validation, found in the "
            "config when one field shows codes), the old code (transition), the model's "
            "code (gold: needed for accuracy)."
        ),
    ] = None,
    confidence_field: Annotated[
        str | None,
        typer.Option(help="Task field of the model's confidence index (automatic vs manual)."),
    ] = None,
) -> None:
    """Adopt an existing Label Studio project as a campaign, without changing it.

    Reads the project's labeling config and maps its controls to ours: a Taxonomy holds the
    code (its 'Inclassable' / XXXXX leaf means cannot be coded), a TextArea the remark, a
    Rating the difficulty, a yes/no Choices the verdict on a given code (validation),
    Choices over task fields ($NAF2025_1...) the candidate picked (transition). The tasks
    become the campaign's units; then export, metrics and agreement work as for our own
    campaigns. Run it again later to take in tasks added since.

    Example: campaigns adopt 12 --kind gold --id-field liasse_numero --name naf2008-agri
    """
    with context.service() as service:
        summary = service.adopt(
            project_id,
            kind=kind,
            name=name,
            id_field=id_field,
            text_field=text_field,
            code_field=code_field,
            confidence_field=confidence_field,
        )
    verb = "refreshed" if summary.refreshed else "adopted"
    context.console.print(
        f"Project {summary.project_id} '{escape(summary.project_title)}' {verb} as {summary.kind} "
        f"campaign [bold]{summary.campaign_id}[/] '{escape(summary.name)}': {summary.tasks} tasks."
    )
    mapping = summary.mapping
    roles = {
        "text": mapping.get("text_field") and f"${mapping['text_field']}",
        "unit id": (mapping.get("id_field") and f"${mapping['id_field']}") or "task id",
        "code": mapping.get("taxonomy"),
        "remark": mapping.get("remark"),
        "difficulty": mapping.get("difficulty"),
        "verdict": (mapping.get("verdict") or {}).get("name"),
        "candidates": (mapping.get("candidates") or {}).get("name"),
        "code judged": mapping.get("code_field") and f"${mapping['code_field']}",
    }
    for role, control in roles.items():
        if control:
            context.console.print(f"  {role:<11} <- {escape(str(control))}")
    for note in summary.notes:
        context.console.print(f"  note: {escape(note)}")
    context.console.print(f"Next: campaigns export {escape(summary.name)}")


def export_from_storage(campaign_ref: str, source: str, *, full: bool = False) -> None:
    """``campaigns export NAME --from-storage s3://bucket/prefix`` (see ``campaign.export``)."""
    with context.service() as service:
        summary = service.export_from_storage(campaign_ref, source, full=full)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(summary.status_counts.items()))
    how = "incremental" if summary.incremental else "full"
    context.console.print(
        f"Exported {summary.annotations} annotations ({counts}) as version {summary.version} "
        f"({how}: {summary.objects_read} of {summary.objects_listed} objects read from "
        f"{escape(summary.source)}, {summary.objects_removed} removed)\n"
        f"  {escape(summary.gold_uri)}\n  gold rule: {summary.gold_rule}"
    )
    if summary.skipped:
        context.err_console.print(
            f"[yellow]{len(summary.skipped)} objects are not annotations of this project and "
            "were left out:[/]"
        )
        for key, why in list(summary.skipped.items())[:10]:
            context.err_console.print(f"  {escape(repr(key))}: {escape(why)}")


def register(app: typer.Typer) -> None:
    app.command()(adopt)
