"""``campaigns nace``: look codes up, see a code's new candidates, recode a table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from campaigns.nomenclatures import correspondence, new_nomenclature, old_nomenclature
from nace_mapping import Level, recode_parquet
from services.cli import context

app = typer.Typer(
    help="NACE/NAF nomenclatures and the NAF rév.2 -> NAF 2025 correspondence.",
    no_args_is_help=True,
)


@app.command()
def show(
    code: Annotated[str, typer.Argument(help="A code at any level: J, 62, 62.0, 62.01, 6201Z.")],
    new: Annotated[bool, typer.Option("--new", help="Look it up in NAF 2025.")] = False,
) -> None:
    """A code's level, title and parent chain.

    Uses CAMPAIGNS_NOMENCLATURE / CAMPAIGNS_NEW_NOMENCLATURE, else the built-in sample.

    Example: campaigns nace show 6201z
    """
    settings = context.settings()
    nomenclature = new_nomenclature(settings) if new else old_nomenclature(settings)
    try:
        chain = nomenclature.ancestors(code)
    except ValueError as err:
        context.err_console.print(f"[bold red]Error:[/] {err}", highlight=False)
        raise typer.Exit(2) from err
    table = Table("level", "code", "title", title=nomenclature.name)
    for level in Level:
        if level in chain:
            table.add_row(level.value, chain[level], nomenclature.title(chain[level]) or "")
    context.console.print(table)


@app.command()
def candidates(
    code: Annotated[str, typer.Argument(help="A NAF rév.2 subclass, e.g. 47.99A.")],
) -> None:
    """Is the old code univocal or multivocal, and what are its candidate new codes?

    Example: campaigns nace candidates 4799A
    """
    settings = context.settings()
    corr = correspondence(settings)
    try:
        found = corr.candidates(code)
    except ValueError as err:
        context.err_console.print(f"[bold red]Error:[/] {err}", highlight=False)
        raise typer.Exit(2) from err
    kind = (
        "univocal (recoded automatically)"
        if len(found) == 1
        else (f"multivocal ({len(found)} candidates: an expert chooses)")
    )
    table = Table("new code", "title", title=f"{code}: {kind}")
    for new in found:
        table.add_row(new, corr.target_title(new) or "")
    context.console.print(table)


@app.command()
def recode(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT.parquet", help="Rows to recode.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    code_column: Annotated[str, typer.Option(help="Column holding the old code.")] = "code",
) -> None:
    """Recode a Parquet table: univocal rows get their new code, the rest is queued.

    Writes univocal.parquet, multivocal_queue.parquet (with the candidates) and
    quarantine.parquet (malformed or unknown codes, with the reason) into --out.

    Example: campaigns nace recode training.parquet --out recoded/ --code-column ape
    """
    if not input_path.is_file():
        context.err_console.print(f"[bold red]Error:[/] no file at {input_path}.")
        raise typer.Exit(2)
    settings = context.settings()
    if settings.correspondence is None:
        context.console.print(
            "[yellow]Using the built-in SAMPLE correspondence[/] "
            "(set CAMPAIGNS_CORRESPONDENCE to the official table)."
        )
    try:
        summary = recode_parquet(input_path, out, correspondence(settings), code_column)
    except KeyError as err:
        context.err_console.print(f"[bold red]Error:[/] {err.args[0]}", highlight=False)
        raise typer.Exit(2) from err
    context.console.print(
        f"{summary['rows']} rows: {summary['univocal']} univocal, {summary['multivocal']} "
        f"multivocal (queued), {summary['quarantined']} quarantined "
        f"{summary['quarantine_reasons'] or ''} -> {summary['out_dir']}"
    )
