"""The OpenAPI document describes the answers the API really gives: the hub's error body, the refusals at the door
(NUL characters, oversized bodies), the terminal signature and session on /api, and no FastAPI default that the hub
never sends."""
from __future__ import annotations

from pathlib import Path

import pytest

from payhub.bootstrap import build
from payhub.config import Settings
from payhub.api.app import create_app

ERROR_REF = "#/components/schemas/ErrorOut"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path: Path = tmp_path_factory.mktemp("openapi") / "payhub.sqlite3"
    app = create_app(build(Settings(demo=True, database_url=f"sqlite+aiosqlite:///{path}")), embedded_worker=False)
    return app.openapi()


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [(method.upper(), path, operation) for path, item in document["paths"].items()
            for method, operation in item.items()]


def test_every_error_answer_is_the_hubs_error_body(document: dict) -> None:
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400 and (method, path, status) != ("GET", "/readyz", "503"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, status)
    error = document["components"]["schemas"]["ErrorDetail"]
    assert error["required"] == ["code", "message"]
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_every_operation_documents_the_refusals_at_the_door(document: dict) -> None:
    for method, path, operation in _operations(document):
        assert {"400", "413"} <= set(operation["responses"]), (method, path)
        takes_input = operation.get("parameters") or operation.get("requestBody")
        if takes_input and path != "/notify/{channel}":  # the notify route reads its raw XML itself
            assert "422" in operation["responses"], (method, path)


def test_api_operations_document_the_signature_and_the_session(document: dict) -> None:
    schemes = document["components"]["securitySchemes"]
    assert {name: scheme.get("name") for name, scheme in schemes.items()} == {
        "TerminalCode": "X-PayHub-Terminal", "TerminalTimestamp": "X-PayHub-Timestamp", "TerminalNonce": "X-PayHub-Nonce",
        "TerminalSignature": "X-PayHub-Signature", "OperatorSession": None}
    assert (schemes["OperatorSession"]["type"], schemes["OperatorSession"]["scheme"]) == ("http", "bearer")
    for method, path, operation in _operations(document):
        if not path.startswith("/api/"):
            assert "security" not in operation, (method, path)
            continue
        assert {"401", "503"} <= set(operation["responses"]), (method, path)
        needs = set().union(*operation["security"])
        login = (method, path) == ("POST", "/api/v1/session")
        signature = {"TerminalCode", "TerminalTimestamp", "TerminalNonce", "TerminalSignature"}
        assert needs == (signature if login else signature | {"OperatorSession"}), (method, path)


def test_non_json_answers_name_their_content_types(document: dict) -> None:
    ok = {(m, p): op["responses"].get("200", {}).get("content", {}) for m, p, op in _operations(document)}
    assert set(ok["GET", "/api/v1/orders/export"]) == {
        "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert set(ok["GET", "/api/v1/orders/{order_no}/events"]) == {"text/event-stream"}
    assert set(ok["GET", "/api/v1/receipts/orders/{order_no}"]) == {"application/json", "text/html"}
    assert set(ok["GET", "/metrics"]) == {"text/plain"}
    assert set(ok["POST", "/notify/{channel}"]) == {"text/plain"}


def test_card_and_ledger_answers_are_described_and_leave_internal_fields_out(document: dict) -> None:
    for method, path, operation in _operations(document):
        if path.startswith(("/api/v1/cards", "/api/v1/ledger")):
            [ok] = [response for status, response in operation["responses"].items() if status.startswith("2")]
            schema = ok["content"]["application/json"]["schema"]
            assert "$ref" in schema or "$ref" in schema.get("items", {}), (method, path, schema)
    described = str(document["components"]["schemas"])
    for internal in ("request_hash", "push_secret_sealed", "password_hash", "code_hash"):
        assert internal not in described
