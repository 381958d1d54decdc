"""``campaigns serve``: the REST API, refusing to listen openly on a network by mistake."""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from campaigns.errors import ConfigurationError
from services.cli import context

if TYPE_CHECKING:
    from campaigns.config import Settings


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only ever resolves to this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_bind(host: str, settings: Settings) -> str | None:
    """Refuse an open API on a network address; return a warning for an open local one."""
    if settings.api_token is not None:
        if settings.label_studio_webhook_url and settings.webhook_secret is None:
            raise ConfigurationError(
                "CAMPAIGNS_LABEL_STUDIO_WEBHOOK_URL is set but CAMPAIGNS_WEBHOOK_SECRET is not: "
                "Label Studio's webhooks would be refused.",
                "Set CAMPAIGNS_WEBHOOK_SECRET (a long random string), then recreate webhooks.",
            )
        return None
    if not is_loopback(host) and not settings.api_allow_open:
        raise ConfigurationError(
            f"Refusing to serve on {host} without CAMPAIGNS_API_TOKEN: anyone on the network "
            "could create, push and archive campaigns.",
            "Set CAMPAIGNS_API_TOKEN, or serve on 127.0.0.1, or (knowingly) set "
            "CAMPAIGNS_API_ALLOW_OPEN=true.",
        )
    if settings.api_allow_open:
        return (
            f"WARNING: the API on {host} is OPEN (no CAMPAIGNS_API_TOKEN, "
            "CAMPAIGNS_API_ALLOW_OPEN=true): every request is accepted. Set "
            "CAMPAIGNS_API_TOKEN before sharing it."
        )
    return (
        f"WARNING: no CAMPAIGNS_API_TOKEN: the API on {host} answers only this machine "
        "(loopback clients; any other gets 403). Set CAMPAIGNS_API_TOKEN before sharing it."
    )


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the campaign REST API (OpenAPI docs at /docs).

    Without CAMPAIGNS_API_TOKEN the API answers only loopback clients (others get 403) and
    listens only on a loopback address, unless CAMPAIGNS_API_ALLOW_OPEN=true opens it
    knowingly; it warns either way. Label Studio's
    webhooks authenticate with CAMPAIGNS_WEBHOOK_SECRET, never with the API token.

    Example: CAMPAIGNS_API_TOKEN=... campaigns serve --host 0.0.0.0 --port 8000
    """
    warning = check_bind(host, context.settings())
    if warning:
        context.err_console.print(f"[bold yellow]{warning}[/]", highlight=False)
    import uvicorn

    uvicorn.run("services.api.main:app", host=host, port=port, workers=workers)


def register(app: typer.Typer) -> None:
    app.command()(serve)
