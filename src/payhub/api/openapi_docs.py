"""What the OpenAPI document says about errors and authentication, so that it matches what the API really answers."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict

Responses = dict[int | str, dict[str, Any]]  # what `responses=` of a route or router takes


class ErrorDetail(BaseModel):
    """A stable code and a message in the caller's language (Accept-Language: en for English)."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class ErrorOut(BaseModel):
    """Every error the API answers: {"error": {"code": "...", "message": "..."}}."""

    error: ErrorDetail


WHY = {
    400: "Invalid request: a malformed body, a NUL character, or a value the hub refuses (e.g. BAD_AMOUNT)",
    401: "Bad or missing terminal signature, replayed nonce, or no valid operator session",
    403: "Known, but not allowed: role, password or SMS code refused (e.g. ROLE_REQUIRED)",
    404: "The thing asked for does not exist (e.g. ORDER_NOT_FOUND)",
    409: "Clashes with the current state (e.g. IDEMPOTENCY_CONFLICT, ORDER_EXPIRED)",
    413: "The body is larger than this route takes (BODY_TOO_LARGE)",
    422: "A parameter or body field fails validation (VALIDATION, with the field problems)",
    503: "A far system or the database did not answer; nothing was changed, try again",
}


def error_responses(*statuses: int) -> Responses:
    """The `responses=` entries of the given error statuses, each with the shared error body."""
    return {status: {"model": ErrorOut, "description": WHY[status]} for status in statuses}


ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}  # for hand-written entries
SIGNED = error_responses(401, 503)  # every route behind the terminal signature (checked in the database)
SECURITY_SCHEMES = {
    "TerminalCode": {"type": "apiKey", "in": "header", "name": "X-PayHub-Terminal", "description": "The terminal"},
    "TerminalTimestamp": {"type": "apiKey", "in": "header", "name": "X-PayHub-Timestamp",
                          "description": "Unix seconds, within 5 minutes of the hub's clock"},
    "TerminalNonce": {"type": "apiKey", "in": "header", "name": "X-PayHub-Nonce", "description": "Never reused"},
    "TerminalSignature": {
        "type": "apiKey", "in": "header", "name": "X-PayHub-Signature",
        "description": "Hex HMAC-SHA256 with the terminal key over METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\n"
                       "SHA256HEX(BODY); PATH?QUERY exactly as sent, still percent-encoded",
    },
    "OperatorSession": {"type": "http", "scheme": "bearer", "description": "The token of POST /api/v1/session"},
}
SIGNATURE: dict[str, list[str]] = {
    "TerminalCode": [], "TerminalTimestamp": [], "TerminalNonce": [], "TerminalSignature": [],
}
AT_THE_DOOR = (400, 413)  # the body-size and NUL-character middleware answer these before any route


def _document(operation: dict[str, Any], *, path: str) -> None:
    for status in AT_THE_DOOR:
        operation["responses"].setdefault(str(status), {"description": WHY[status], "content": ERROR_JSON})
    if "422" in operation["responses"]:  # FastAPI's own 422 body is not what the hub answers
        operation["responses"]["422"] = {"description": WHY[422], "content": ERROR_JSON}
    if path.startswith("/api/"):
        login = path == "/api/v1/session" and operation.get("operationId", "").startswith("login")
        operation["security"] = [SIGNATURE] if login else [SIGNATURE | {"OperatorSession": []}]


DOCS_ASSETS = "/docs/assets"
ASSET_FILES = Path(fastapi_offline.__file__).parent / "static"  # Swagger UI and ReDoc, shipped with the package


def _serve_docs_offline(app: FastAPI) -> None:
    """/docs and /redoc from the package's own Swagger UI and ReDoc files: a hub's network often has no internet."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=ASSET_FILES), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        assets = root + DOCS_ASSETS
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js", swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png", oauth2_redirect_url=None,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        assets = root + DOCS_ASSETS
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} API",
            redoc_js_url=f"{assets}/redoc.standalone.js", redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )


def install_openapi(app: FastAPI) -> None:
    """Build the document once: the hub's error body on every 422, the refusals at the door, authentication;
    /docs and /redoc served without a CDN."""
    _serve_docs_offline(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for path, item in document.get("paths", {}).items():
                for operation in item.values():
                    _document(operation, path=path)
            error = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, schema in error.pop("$defs", {}).items():
                schemas.setdefault(name, schema)
            schemas.setdefault("ErrorOut", error)
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            document["components"]["securitySchemes"] = SECURITY_SCHEMES
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to replace the document
