"""The ``campaigns`` command: traffic, samples, Label Studio campaigns, exports and metrics.

Every command reads its settings from ``CAMPAIGNS_*`` environment variables (or ``.env``):
see ``campaigns settings``. Errors print one line saying what to do and exit with code 2.
"""

from __future__ import annotations

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
        from pydantic import ValidationError

        from nace_mapping.errors import NaceMappingError

        try:
            return super().invoke(ctx)
        except CampaignError as err:
            _fail(err.one_line(), err)
        except NaceMappingError as err:
            _fail(f"{err} Fix the table, or point the setting at another edition.", err)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            _fail(f"Invalid {where}: {first.get('msg', 'invalid value')}.", err)


def _fail(message: str, err: Exception) -> None:
    err_console.print(f"[bold red]Error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(2) from err


app = typer.Typer(
    cls=_FriendlyErrors,
    help=__doc__,
    no_args_is_help=True,
    rich_markup_mode="rich",
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
