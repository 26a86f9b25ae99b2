"""Every error leaves as JSON with a stable code and a message in the caller's language; never a trace."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from payhub.domain.errors import PayhubError
from payhub.domain.messages import render

log = logging.getLogger(__name__)

STATUS = {
    "invalid": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "conflict": 409, "unavailable": 503,
}


def locale_of(request: Request) -> str:
    """English if the caller prefers it, else Chinese."""
    accepted = request.headers.get("accept-language", "")
    return "en" if accepted.lower().startswith("en") else "zh"


def error_body(*, code: str, locale: str, params: dict | None = None, **extra: object) -> dict:
    return {"error": {"code": code, "message": render(code, locale, params or {}), **extra}}


def _field_problems(error: RequestValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {problem.get('msg', '')}" if where else str(problem.get("msg", "")))
    return "; ".join(parts)[:500]


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
            error_body(code="VALIDATION", locale=locale_of(request), params={"detail": _field_problems(error)}),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(error.status_code, "VALIDATION")
        return JSONResponse(
            error_body(code=code, locale=locale_of(request), params={"detail": str(error.detail)}),
            status_code=error.status_code,
        )

    @app.exception_handler(OperationalError)
    async def _database(request: Request, error: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", type(error.orig).__name__)
        return JSONResponse(error_body(code="INTERNAL", locale=locale_of(request)), status_code=503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(error_body(code="INTERNAL", locale=locale_of(request)), status_code=500)
