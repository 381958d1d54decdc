"""The ``campaigns`` command: traffic, samples, Label Studio campaigns, exports and metrics.

Every command reads its settings from ``CAMPAIGNS_*`` environment variables (or ``.env``):
see ``campaigns settings``. Errors print one line saying what to do and exit with code 2.
"""

from __future__ import annotations

import sys
from typing import Any

import click
import typer
from rich.markup import escape
from typer.core import TyperGroup

import services.cli.transition_dataset  # noqa: F401  (adds its commands to 'transition')
from campaigns.errors import CampaignError
from services.cli import (
    adopt,
    campaign,
    drift,
    estimate,
    model_quality,
    nace,
    sampling,
    serve,
    settings,
    traffic,
    training,
    transition,
    validation,
)
from services.cli.context import err_console


class _FriendlyErrors(TyperGroup):
    """Turn the project's errors into one red line and exit code 2, never a traceback.

    The one place where the CLI translates errors: the core's (with their hint), the
    nomenclature package's (a table that cannot be used), and an argument the models refuse.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CampaignError as err:
            _fail(err.one_line(), err)
        except Exception as err:  # only to translate the two kinds below; the rest re-raised
            message = _one_line(err)
            if message is None:
                raise
            _fail(message, err)


def _one_line(err: Exception) -> str | None:
    """The user's line for a nomenclature table or an argument the models refuse, else None.

    Their classes are looked up among the modules already loaded, never imported: an error
    cannot come from a module that was not, and importing pydantic (or the nomenclature
    package, which loads pyarrow) would slow every ``COMMAND --help`` and every exit.
    """
    nace_errors = sys.modules.get("nace_mapping.errors")
    if nace_errors is not None and isinstance(err, nace_errors.NaceMappingError):
        return f"{err} Fix the table, or point the setting at another edition."
    pydantic_core = sys.modules.get("pydantic_core")
    if pydantic_core is not None and isinstance(err, pydantic_core.ValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"Invalid {where}: {first.get('msg', 'invalid value')}."
    return None


def _fail(message: str, err: Exception) -> None:
    err_console.print(f"[bold red]Error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(2) from err


app = typer.Typer(
    cls=_FriendlyErrors,
    help=__doc__,
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,
)
app.add_typer(traffic.app, name="traffic")
app.add_typer(nace.app, name="nace")
app.add_typer(transition.app, name="transition")
app.add_typer(validation.app, name="validation")
sampling.register(app)
campaign.register(app)
training.register(app)
drift.register(app)
estimate.register(app)
settings.register(app)
adopt.register(app)
model_quality.register(app)
serve.register(app)


def main() -> None:
    app()
