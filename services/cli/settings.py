"""``campaigns settings``: every setting, where it comes from and what it is now."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from services.cli import context


def settings(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Every setting: its environment variable, default and current value (secrets masked).

    Settings are read from CAMPAIGNS_* environment variables, then a .env file in the
    current directory. Nothing here talks to a server: use it to check a deployment's
    wiring before running anything.

    Example: CAMPAIGNS_STORAGE_ROOT=s3://bucket/campaigns campaigns settings
    """
    from campaigns.config import describe_settings

    rows = describe_settings(context.settings())
    if as_json:
        import json
        from dataclasses import asdict

        print(json.dumps([asdict(r) for r in rows], indent=2))
        return
    for row in rows:
        changed = "" if row.current == row.default else f"  [dim](default {escape(row.default)})[/]"
        context.console.print(f"[bold]{row.env}[/] = {escape(row.current)}{changed}")
        if row.description:
            context.console.print(f"    {escape(row.description)}", style="dim")


def register(app: typer.Typer) -> None:
    app.command()(settings)
