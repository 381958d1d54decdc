"""``campaigns nace``: look codes up, see a code's new candidates, recode a table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table

from services.cli import context

if TYPE_CHECKING:  # the tables load pandas: imported by the commands that read them
    from nace_mapping import Correspondence, Nomenclature

app = typer.Typer(
    help="NACE/NAF nomenclatures and the NAF rév.2 -> NAF 2025 correspondence.",
    no_args_is_help=True,
)


@app.command()
def show(
    code: Annotated[str, typer.Argument(help="A code at any level: J, 62, 62.0, 62.01, 6201Z.")],
    new: Annotated[bool, typer.Option("--new", help="Look it up in NAF 2025.")] = False,
) -> None:
    """A code's level, title and parent chain; for a subclass, its other-edition codes.

    A NAF rév.2 subclass is shown with its NAF 2025 candidates (with their titles); a NAF 2025
    subclass (--new) with the NAF rév.2 codes it comes from. Uses CAMPAIGNS_NOMENCLATURE /
    CAMPAIGNS_NEW_NOMENCLATURE / CAMPAIGNS_CORRESPONDENCE, else the built-in official tables.

    Example: campaigns nace show 47.99A
    """
    from campaigns.nomenclatures import correspondence, new_nomenclature, old_nomenclature
    from nace_mapping import Level, NaceMappingError

    settings = context.settings()
    nomenclature = new_nomenclature(settings) if new else old_nomenclature(settings)
    try:
        chain = nomenclature.ancestors(code)
    except NaceMappingError as err:
        _fail(err)
    table = Table("level", "code", "title", title=nomenclature.name)
    for level in Level:
        if level in chain:
            table.add_row(level.value, chain[level], nomenclature.title(chain[level]) or "")
    context.console.print(table)
    subclass = chain.get(Level.SUBCLASS)
    if subclass is None:
        return
    corr = correspondence(settings)
    if new:
        context.console.print(_sources_table(subclass, corr, old_nomenclature(settings)))
    else:
        context.console.print(_candidates_table(subclass, corr, new_nomenclature(settings)))


def _fail(err: Exception) -> NoReturn:
    context.err_console.print(f"[bold red]Error:[/] {err}", highlight=False)
    raise typer.Exit(2) from err


def _candidates_table(old: str, corr: Correspondence, new: Nomenclature) -> Table:
    """The new codes of an old one, each with its title (the official one when known): a
    multivocal code can have dozens, which no one can choose among by code alone."""
    from nace_mapping import normalize_code

    found = corr.candidates(old)
    old = normalize_code(old)
    kind = (
        "univocal (recoded automatically)"
        if len(found) == 1
        else f"multivocal ({len(found)} candidates: an expert chooses)"
    )
    table = Table("new code", "title", title=f"{old} -> {new.name}: {kind}")
    for code in found:
        table.add_row(code, new.title(code) or corr.target_title(code) or "")
    return table


def _sources_table(new_code: str, corr: Correspondence, old: Nomenclature) -> Table | str:
    """The old codes a new one comes from (none for a code created by the new edition)."""
    sources = corr.sources(new_code)
    if not sources:
        return f"{new_code} <- {old.name}: no source code (the correspondence maps none to it)."
    plural = "s" if len(sources) > 1 else ""
    table = Table(
        "old code", "title", title=f"{new_code} <- {old.name}: {len(sources)} code{plural}"
    )
    for code in sources:
        table.add_row(code, old.title(code) or "")
    return table


@app.command()
def candidates(
    code: Annotated[str, typer.Argument(help="A NAF rév.2 subclass, e.g. 47.99A.")],
) -> None:
    """Is the old code univocal or multivocal, and what are its candidate new codes?

    Example: campaigns nace candidates 4799A
    """
    from campaigns.nomenclatures import correspondence, new_nomenclature
    from nace_mapping import NaceMappingError

    settings = context.settings()
    corr = correspondence(settings)
    try:
        table = _candidates_table(code, corr, new_nomenclature(settings))
    except NaceMappingError as err:
        _fail(err)
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
    from campaigns.nomenclatures import correspondence
    from nace_mapping import NaceMappingError, recode_parquet

    settings = context.settings()
    corr = correspondence(settings)
    if settings.correspondence is None:
        context.console.print(
            "Using the built-in official correspondence (Insee, January 2026 edition); "
            "CAMPAIGNS_CORRESPONDENCE overrides it.",
            style="dim",
        )
    try:
        summary = recode_parquet(input_path, out, corr, code_column)
    except NaceMappingError as err:
        _fail(err)
    context.console.print(
        f"{summary['rows']} rows: {summary['univocal']} univocal, {summary['multivocal']} "
        f"multivocal (queued), {summary['quarantined']} quarantined "
        f"{summary['quarantine_reasons'] or ''} -> {summary['out_dir']}"
    )
