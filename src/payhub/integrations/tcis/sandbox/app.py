"""The TCIS simulator's HTTP side: the contract of docs/tcis-contract.md with its authentication, over
BillingState, plus the unauthenticated /_sandbox/ controls for demos."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from payhub.integrations.tcis.sandbox.scenarios import answers_arrears_late, answers_postings_late, scenario_of
from payhub.integrations.tcis.sandbox.state import (
    MESSAGES, BillingState, Customer, Posting, SeedCustomer, TcisError, message_for, utc_now,
)
from payhub.integrations.tcis.wire import (
    ArrearsAnswer,
    PostingAnswer,
    PostingBody,
    ReversalAnswer,
    ReversalBody,
    auth_refusal,
)
from payhub.counter.domain.fees import FeeType


class TcisSandbox(BillingState):
    """TCIS in memory, served by `.app` with the real contract and authentication."""

    def __init__(
        self, *, app_id: str, secret: str, now: Callable[[], datetime] = utc_now, slow_seconds: float = 20.0,
        seed: Iterable[SeedCustomer] | None = None,
    ) -> None:
        super().__init__(now=now, seed=seed)
        self.app_id = app_id
        self.secret = secret
        self.slow_seconds = slow_seconds
        self.app = self._build_app()

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="TCIS sandbox", docs_url=None, redoc_url=None, openapi_url=None)
        app.include_router(self._contract_router(), prefix="/api/v1")
        app.include_router(self._control_router(), prefix="/_sandbox")
        app.add_exception_handler(TcisError, _render_tcis_error)
        app.add_exception_handler(RequestValidationError, _render_validation_error)
        app.add_exception_handler(StarletteHTTPException, _render_http_error)
        app.add_exception_handler(Exception, _render_internal_error)
        return app

    async def _authenticate(self, request: Request) -> None:
        refusal = auth_refusal(
            app_id=self.app_id, secret=self.secret, headers=request.headers, method=request.method,
            target=request_target(request=request), body=await request.body(), now=int(self.now().timestamp()),
        )
        if refusal is not None:
            raise TcisError(refusal, status=401)

    def _contract_router(self) -> APIRouter:
        router = APIRouter(dependencies=[Depends(self._authenticate)])

        @router.get("/accounts/{account_no}/arrears")
        async def query_arrears(account_no: str, fee_type: FeeType) -> ArrearsAnswer:
            if answers_arrears_late(account_no=account_no):
                await asyncio.sleep(self.slow_seconds)
            return self.arrears(account_no=account_no, fee_type=fee_type)

        @router.post("/postings")
        async def post_payment(body: PostingBody) -> PostingAnswer:
            answer = self.post(body=body)
            if answers_postings_late(account_no=body.account_no):
                await asyncio.sleep(self.slow_seconds)  # booked already: the caller must query to learn it
            return answer

        @router.get("/postings/{posting_no}")
        async def query_posting(posting_no: str) -> PostingAnswer:
            return self.posting(posting_no=posting_no)

        @router.post("/postings/{posting_no}/reversals")
        async def reverse_posting(posting_no: str, body: ReversalBody) -> ReversalAnswer:
            return self.reverse(posting_no=posting_no, body=body)

        return router

    def _control_router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/customers")
        async def list_customers() -> list[dict[str, Any]]:
            return [customer_view(customer=customer) for customer in self.customers.values()]

        @router.get("/postings")
        async def list_postings() -> list[dict[str, Any]]:
            return [self._posting_view(posting=posting) for posting in self.postings.values()]

        @router.post("/reset")
        async def reset() -> dict[str, int]:
            self.reset()
            return {"customers": len(self.customers)}

        return router

    def _posting_view(self, *, posting: Posting) -> dict[str, Any]:
        reversals = [
            reversal.answer.model_dump(mode="json") for reversal in self.reversals.values()
            if reversal.posting_no == posting.body.posting_no
        ]
        paid_bill_ids = [bill.bill_id for bill in posting.paid_bills]
        return {**posting.body.model_dump(mode="json"), **posting.answer().model_dump(mode="json"),
                "paid_bill_ids": paid_bill_ids, "reversals": reversals}


def customer_view(*, customer: Customer) -> dict[str, Any]:
    """A customer unmasked, with the scenario the account number triggers, for demos."""
    profile = customer.profile
    return {
        "account_no": profile.account_no, "fee_type": profile.fee_type.value, "name": profile.name,
        "address": profile.address, "prepay_allowed": profile.prepay_allowed, "ic_card": profile.ic_card,
        "bills": [{"bill_id": bill.bill_id, "period": bill.period, "amount": bill.amount}
                  for bill in customer.open_bills],
        "total_due": sum(bill.amount for bill in customer.open_bills), "prepaid_balance": customer.prepaid_balance,
        "scenario": scenario_of(account_no=profile.account_no),
    }


def request_target(*, request: Request) -> str:
    """The path and query exactly as the caller sent (and signed) them."""
    path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return (path + b"?" + query if query else path).decode("latin-1")


def _error(*, status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message": message})


async def _render_tcis_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, TcisError)
    return _error(status=error.status, code=error.code, message=error.message)


async def _render_validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    detail = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
    return _error(status=400, code="BAD_REQUEST", message=message_for("BAD_REQUEST", {"detail": detail}))


async def _render_http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = "METHOD_NOT_ALLOWED" if error.status_code == 405 else "NOT_FOUND"
    return _error(status=error.status_code, code=code, message=MESSAGES[code])


async def _render_internal_error(_: Request, __: Exception) -> JSONResponse:
    return _error(status=500, code="INTERNAL", message=MESSAGES["INTERNAL"])
