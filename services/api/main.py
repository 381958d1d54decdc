"""The campaign REST API: ``uvicorn services.api.main:app``."""

from __future__ import annotations

import logging
import secrets

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from campaigns.config import Settings, get_settings
from campaigns.errors import CampaignError
from nace_mapping.errors import NaceMappingError
from services.api.deps import require_token
from services.api.guard import Guard
from services.api.routes import (
    campaigns,
    health,
    jobs,
    model_quality,
    monitoring,
    planning,
    retraining,
    samples,
    transition,
    webhooks,
)
from services.api.schemas import ErrorResponse

logger = logging.getLogger(__name__)

ERRORS = {
    400: {"model": ErrorResponse},
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse, "description": "No token set and the client is not local."},
    404: {"model": ErrorResponse},
    409: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    500: {"model": ErrorResponse, "description": "Unexpected: the hint gives a request id."},
    503: {"model": ErrorResponse},
}


def _error(status: int, kind: str, message: str, hint: str | None = None) -> JSONResponse:
    body = {"error": {"type": kind, "message": message, "hint": hint}}
    return JSONResponse(status_code=status, content=body)


def _allowed_methods(app: FastAPI, request: Request) -> list[str]:
    methods: set[str] = set()
    for route in app.router.routes:
        if isinstance(route, APIRoute) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods or set()
    return sorted(methods)


def create_app() -> FastAPI:
    app = FastAPI(
        title="annotation-campaigns",
        summary="Gold-standard and NACE transition annotation campaigns in Label Studio.",
        version="0.1.0",
    )

    @app.exception_handler(CampaignError)
    def _campaign_error(_: Request, err: CampaignError) -> JSONResponse:
        return _error(err.status_code, type(err).__name__, err.message, err.hint)

    @app.exception_handler(NaceMappingError)
    def _table_error(_: Request, err: NaceMappingError) -> JSONResponse:
        return _error(
            422,
            type(err).__name__,
            str(err),
            "Fix the nomenclature or correspondence table, or point its setting at another "
            "edition (campaigns settings lists them).",
        )

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        response = _error(err.status_code, "HTTPError", str(err.detail))
        if err.headers:
            response.headers.update(err.headers)
        if err.status_code == 405:
            # Starlette names only the first matching route's method; list them all.
            response.headers["Allow"] = ", ".join(_allowed_methods(app, request))
        return response

    @app.exception_handler(Exception)
    def _unexpected(request: Request, err: Exception) -> JSONResponse:
        # The last resort: whatever escaped every other handler still gets the documented
        # body, and its traceback is logged under an id the client can quote. Starlette
        # re-raises afterwards, so the server's own error log sees it too.
        request_id = secrets.token_hex(8)
        logger.error(
            "Unexpected error, request id %s: %s %s",
            request_id,
            request.method,
            request.url.path,
            exc_info=err,
        )
        response = _error(
            500,
            "InternalError",
            f"Unexpected server error (request id {request_id}).",
            f"Retry later; if it persists, give request id {request_id} to whoever runs the "
            "API: the server log holds the details under it.",
        )
        response.headers["X-Request-ID"] = request_id
        return response

    @app.exception_handler(RequestValidationError)
    def _validation_error(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", []))
        return _error(
            422,
            "ValidationError",
            f"{where}: {first.get('msg', 'invalid input')}",
            "See the OpenAPI schema at /docs.",
        )

    app.include_router(health.router)
    protected = [Depends(require_token)]
    app.include_router(samples.router, dependencies=protected, responses=ERRORS)
    app.include_router(planning.router, dependencies=protected, responses=ERRORS)
    app.include_router(campaigns.router, dependencies=protected, responses=ERRORS)
    app.include_router(campaigns.adoptions, dependencies=protected, responses=ERRORS)
    app.include_router(transition.router, dependencies=protected, responses=ERRORS)
    app.include_router(monitoring.router, dependencies=protected, responses=ERRORS)
    app.include_router(retraining.router, dependencies=protected, responses=ERRORS)
    app.include_router(model_quality.router, dependencies=protected, responses=ERRORS)
    app.include_router(jobs.router, dependencies=protected, responses=ERRORS)
    # Label Studio's webhooks carry their own secret, checked by the guard below.
    app.include_router(webhooks.router, responses=ERRORS)
    _guard(app)
    return app


def _guard(app: FastAPI) -> None:
    """Put the guard in front: token checked and body bounded before anything is parsed.

    The settings are read per request (they are cached), so tests may change them.
    """
    log_if_open(get_settings())

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    def webhook_secret() -> str | None:
        settings = get_settings()
        if settings.webhook_secret is None and settings.api_token is not None:
            # A protected API never leaves its webhook route open: a random secret nobody
            # knows, so Label Studio's calls fail until CAMPAIGNS_WEBHOOK_SECRET is set.
            return _UNGUESSABLE
        return secret(settings.webhook_secret)

    app.add_middleware(
        Guard,
        api_token=lambda: secret(get_settings().api_token),
        webhook_secret=webhook_secret,
        max_body_bytes=lambda: get_settings().api_max_body_bytes,
        allow_open=lambda: get_settings().api_allow_open,
    )


_UNGUESSABLE = secrets.token_hex(32)


def log_if_open(settings: Settings) -> None:
    if settings.api_token is not None:
        return
    if settings.api_allow_open:
        logger.warning(
            "The campaign API runs OPEN: CAMPAIGNS_API_TOKEN is not set and "
            "CAMPAIGNS_API_ALLOW_OPEN is true, so every request from anywhere is accepted."
        )
    else:
        logger.warning(
            "CAMPAIGNS_API_TOKEN is not set: the campaign API answers only clients on this "
            "machine (loopback), others get 403. Set a token to serve the network."
        )


app = create_app()
