"""What a command sent to MLflow, printed after its own output (warnings on stderr)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

from services.cli import context

if TYPE_CHECKING:
    from campaigns.model_registry.feedback import Feedback


def print_feedback(feedback: Feedback | None, *, warnings_only: bool = False) -> None:
    """Nothing when the registry is off; a line per run, note and warning otherwise.

    ``warnings_only`` for a command printing JSON: its standard output stays JSON.
    """
    if feedback is None:
        return
    for line in [] if warnings_only else feedback.lines():
        context.console.print(escape(line), highlight=False)
    for warning in feedback.warnings:
        context.err_console.print(f"[yellow]Warning:[/] {escape(warning)}", highlight=False)
