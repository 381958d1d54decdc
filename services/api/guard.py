"""The API's front door: the token is checked, and the body bounded, before a byte is read.

A pure ASGI middleware, so it runs before FastAPI parses anything: a request without the
right token is answered 401 without its body being read (a 95 MB anonymous POST costs
nothing), and a body over ``max_body_bytes`` is answered 413 as soon as its declared length,
or the bytes received so far, exceed it. Label Studio's webhook route has its own secret
(``CAMPAIGNS_WEBHOOK_SECRET``), which only starts exports, so the API's token never has to be
stored in Label Studio. The health check and the OpenAPI pages stay public.

Without an API token, what the token would protect answers loopback peers only (403 to the
others): ``uvicorn services.api.main:app --host 0.0.0.0`` with no token set is then safe,
not open to the network. ``CAMPAIGNS_API_ALLOW_OPEN=true`` opens it knowingly. The peer is
the ASGI server's ``client``: behind a reverse proxy on the same machine every request looks
local unless the server takes the client from the proxy's headers (uvicorn does, for proxies
on 127.0.0.1), so a deployment with a proxy sets a token.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC_PATHS = ("/health", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")
WEBHOOK_PREFIX = "/webhooks/"


def token_matches(given: str | bytes | None, expected: str) -> bool:
    """Constant-time comparison on bytes: any header value, ASCII or not, is just wrong."""
    if given is None:
        return False
    raw = given if isinstance(given, bytes) else given.encode("utf-8", "surrogateescape")
    return secrets.compare_digest(raw, expected.encode("utf-8"))


def bearer(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The bearer token of the ``Authorization`` header, as raw bytes (None if absent)."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" else None
    return None


class Guard:
    """Authenticate, then bound the body, then call the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_token: Callable[[], str | None],
        webhook_secret: Callable[[], str | None],
        max_body_bytes: Callable[[], int],
        allow_open: Callable[[], bool],
    ) -> None:
        self.app = app
        self.api_token = api_token
        self.webhook_secret = webhook_secret
        self.max_body_bytes = max_body_bytes
        self.allow_open = allow_open

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        refusal = self._refusal(path, bearer(headers), scope.get("client"))
        if refusal is not None:
            status, *words = refusal
            extra = [(b"www-authenticate", b"Bearer")] if status == 401 else []
            await _answer(send, status, *words, extra=extra)
            return
        limit = self.max_body_bytes()
        declared = _content_length(headers)
        if declared is not None and declared > limit:
            await _answer(send, 413, *_too_large(limit))
            return
        received = 0
        started = False
        rejected = False

        async def bounded_receive() -> Message:
            # Past the limit, answer 413 at once and tell the app the client left: whatever
            # the app then does with its half body (FastAPI would say 400) is dropped.
            nonlocal received, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    rejected = True
                    if not started:
                        await _answer(send, 413, *_too_large(limit))
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, bounded_receive, tracking_send)

    def _refusal(
        self, path: str, token: bytes | None, client: Sequence[Any] | None
    ) -> tuple[int, str, str, str] | None:
        if path in PUBLIC_PATHS:
            return None
        if path.startswith(WEBHOOK_PREFIX):
            secret = self.webhook_secret()
            if secret is None:
                return self._untokened(client)
            if token_matches(token, secret):
                return None
            return (
                401,
                "Unauthorized",
                "Missing or wrong webhook secret.",
                "Label Studio's webhook sends 'Authorization: Bearer <CAMPAIGNS_WEBHOOK_SECRET>'.",
            )
        expected = self.api_token()
        if expected is None:
            return self._untokened(client)
        if token_matches(token, expected):
            return None
        return (
            401,
            "Unauthorized",
            "Missing or wrong bearer token.",
            "Send 'Authorization: Bearer <CAMPAIGNS_API_TOKEN>'.",
        )

    def _untokened(self, client: Sequence[Any] | None) -> tuple[int, str, str, str] | None:
        """No secret protects the route: only this machine may call, unless opened knowingly."""
        if self.allow_open() or is_loopback_peer(client):
            return None
        return (
            403,
            "Forbidden",
            "This API has no token (CAMPAIGNS_API_TOKEN is unset), so it answers only "
            "clients on its own machine.",
            "Set CAMPAIGNS_API_TOKEN on the server and send 'Authorization: Bearer <token>', "
            "or call it from the server itself (127.0.0.1).",
        )


def is_loopback_peer(client: Sequence[Any] | None) -> bool:
    """Whether the ASGI ``client`` (host, port) is this machine; unknown peers are not."""
    if not client:
        return False
    try:
        address = ipaddress.ip_address(str(client[0]))
    except ValueError:
        return False  # a name, as test clients give: not an address we can vouch for
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 on a dual-stack socket
    return address.is_loopback


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> tuple[str, str, str]:
    return (
        "PayloadTooLarge",
        f"The request body exceeds {limit:,} bytes.",
        "Send less at once, or raise CAMPAIGNS_API_MAX_BODY_BYTES.",
    )


async def _answer(
    send: Send,
    status: int,
    kind: str,
    message: str,
    hint: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps({"error": {"type": kind, "message": message, "hint": hint}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})
