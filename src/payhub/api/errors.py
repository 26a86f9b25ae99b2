"""Every error leaves as JSON with a stable code and a message in the caller's language; never a trace."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from payhub.kernel.domain.errors import PayhubError
from payhub.kernel.domain.messages import render
from payhub.api.validation_text import describe_problems

log = logging.getLogger(__name__)

STATUS = {
    "invalid": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "conflict": 409, "unavailable": 503,
}


def locale_of(request: Request) -> str:
    """English if the caller prefers it, else Chinese."""
    accepted = request.headers.get("accept-language", "")
    return "en" if accepted.lower().startswith("en") else "zh"


def error_body(*, code: str, locale: str, params: dict[str, Any] | None = None, **extra: object) -> dict[str, Any]:
    return {"error": {"code": code, "message": render(code, locale, params or {}), **extra}}


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    return ", ".join(method for method in HTTP_METHODS
                     if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes))


def install_error_handlers(app: FastAPI) -> None:
    """Map the domain's error tree, validation failures, unknown routes and surprises to JSON."""

    @app.exception_handler(PayhubError)
    async def _payhub(request: Request, error: PayhubError) -> JSONResponse:
        return JSONResponse(
            error_body(code=error.code, locale=locale_of(request), params=error.params), status_code=STATUS[error.kind]
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body(code="VALIDATION", locale=locale_of(request),
                       params={"detail": describe_problems(error.errors(), locale_of(request))}),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(error.status_code, "VALIDATION")
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return JSONResponse(
            error_body(code=code, locale=locale_of(request), params={"detail": str(error.detail)}),
            status_code=error.status_code, headers=headers,
        )

    @app.exception_handler(StatementError)
    @app.exception_handler(OverflowError)
    async def _unstorable(request: Request, error: Exception) -> JSONResponse:
        # a backstop behind the schemas' bounds: the database or its driver refused a value of the request
        refused = getattr(error, "orig", error)
        if not isinstance(error, DataError) and not isinstance(refused, OverflowError):
            raise error
        log.warning("value refused by the database: %s", type(refused).__name__)
        return JSONResponse(error_body(code="VALUE_OUT_OF_RANGE", locale=locale_of(request)), status_code=400)

    @app.exception_handler(OperationalError)
    async def _database(request: Request, error: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", type(error.orig).__name__)
        return JSONResponse(error_body(code="INTERNAL", locale=locale_of(request)), status_code=503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(error_body(code="INTERNAL", locale=locale_of(request)), status_code=500)
