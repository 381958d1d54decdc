"""Every campaign-manager command of the CLI has its twin operation in the REST API.

The CLI and the API are two faces of one service: what a manager can do in a terminal, a
client of the API can do too. Each command is mapped below to its operation, or listed as
deliberately CLI-only with the reason; a new command in neither list fails this test, and so
does a twin missing from the API's OpenAPI schema or left without the API's bearer auth.
"""

from __future__ import annotations

from typing import Any

import typer

from services.api.main import create_app
from services.cli import app as cli_app

API_TWINS: dict[str, tuple[str, str]] = {
    "sample": ("post", "/samples"),
    "samples": ("get", "/samples"),
    "plan": ("post", "/plan"),
    "create": ("post", "/campaigns"),
    "list": ("get", "/campaigns"),
    "push": ("post", "/campaigns/{campaign_id}/push"),
    "export": ("post", "/campaigns/{campaign_id}/export"),
    "metrics": ("post", "/campaigns/{campaign_id}/metrics"),
    "report": ("get", "/campaigns/{campaign_id}/report"),
    "progress": ("get", "/campaigns/{campaign_id}/progress"),
    "archive": ("post", "/campaigns/{campaign_id}/archive"),
    "training-set": ("post", "/campaigns/{campaign_id}/training-set"),
    "estimate": ("post", "/campaigns/{campaign_id}/estimate"),
    "drift": ("post", "/drift"),
    "compare": ("post", "/campaigns/{campaign_id}/compare"),
    "trend": ("post", "/trend"),
    "transition create": ("post", "/transition/campaigns"),
    "transition split": ("get", "/transition/campaigns/{campaign_id}/split"),
    "transition dataset": ("post", "/transition/campaigns/{campaign_id}/dataset"),
    "transition next-batch": ("post", "/transition/campaigns/{campaign_id}/batches"),
    "transition create-batch": ("post", "/transition/campaigns/{campaign_id}/batches/campaigns"),
    "adopt": ("post", "/adoptions"),
    "validation create": ("post", "/campaigns"),
    "validation metrics": ("get", "/campaigns/{campaign_id}/validation-metrics"),
}

CLI_ONLY: dict[str, str] = {
    "traffic ingest": "reads log files on the machine it runs on; the scheduled job runs it "
    "beside the logs (compose.yaml), a client has no logs to send",
    "traffic generate": "writes synthetic logs to a local file, to try the tool without "
    "production data",
    "traffic stats": "a terminal look at the ingested traffic (per-day table, text histogram); "
    "its figures are printed, not yet a core result an API could serve",
    "nace show": "nomenclature look-up in the local tables: no campaign, nothing to share",
    "nace candidates": "correspondence look-up in the local tables: no campaign state",
    "nace recode": "recodes a local file into a local file (a transition campaign's API "
    "twin, POST /transition/campaigns, recodes on the storage root)",
    "nightly": "the scheduler's entry point over every open campaign; the API exports on "
    "demand per campaign (POST .../export, .../metrics) and on Label Studio's webhooks",
    "settings": "prints the settings of the machine it runs on (secrets masked): the "
    "operator's check, not a manager's operation",
    "serve": "starts this API itself",
}


def _commands(group: Any, prefix: str = "") -> set[str]:
    """Full names ('transition split') of the leaf commands under a group (Typer's own click
    or click itself: a group is whatever has sub-commands)."""
    names: set[str] = set()
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            names |= _commands(command, f"{full} ")
        else:
            names.add(full)
    return names


def cli_commands() -> set[str]:
    """Every command of the ``campaigns`` app, its sub-apps' included."""
    return _commands(typer.main.get_command(cli_app))


def test_every_cli_command_has_an_api_twin_or_a_reason_to_have_none():
    commands = cli_commands()
    assert {"transition split", "drift", "plan", "nace show"} <= commands  # the walk works
    unlisted = commands - API_TWINS.keys() - CLI_ONLY.keys()
    assert not unlisted, f"New CLI commands: add their API operation, or a reason: {unlisted}"
    stale = (API_TWINS.keys() | CLI_ONLY.keys()) - commands
    assert not stale, f"Listed but no longer in the CLI: {stale}"
    assert not API_TWINS.keys() & CLI_ONLY.keys()
    assert all(reason.strip() for reason in CLI_ONLY.values())


def test_every_twin_is_an_operation_of_the_api_behind_its_bearer_auth():
    paths = create_app().openapi()["paths"]
    for command, (method, path) in API_TWINS.items():
        operation = paths.get(path, {}).get(method)
        assert operation is not None, f"'campaigns {command}' has no {method.upper()} {path}"
        assert operation.get("security"), f"{method.upper()} {path} is not behind the token"
        assert "401" in operation["responses"], f"{method.upper()} {path}: errors undocumented"
