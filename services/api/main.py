"""The campaign REST API: ``uvicorn services.api.main:app``."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from campaigns.errors import CampaignError
from services.api.deps import require_token
from services.api.routes import (
    campaigns,
    health,
    jobs,
    monitoring,
    planning,
    retraining,
    samples,
    transition,
    webhooks,
)
from services.api.schemas import ErrorResponse

ERRORS = {
    400: {"model": ErrorResponse},
    401: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    409: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
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

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        response = _error(err.status_code, "HTTPError", str(err.detail))
        if err.headers:
            response.headers.update(err.headers)
        if err.status_code == 405:
            # Starlette names only the first matching route's method; list them all.
            response.headers["Allow"] = ", ".join(_allowed_methods(app, request))
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
    app.include_router(transition.router, dependencies=protected, responses=ERRORS)
    app.include_router(monitoring.router, dependencies=protected, responses=ERRORS)
    app.include_router(retraining.router, dependencies=protected, responses=ERRORS)
    app.include_router(jobs.router, dependencies=protected, responses=ERRORS)
    app.include_router(webhooks.router, dependencies=protected, responses=ERRORS)
    return app


app = create_app()
