"""Receipts (凭条) of payments and refunds, and the operator's end-of-shift summary (交班汇总), as JSON or HTML."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from payhub.integrations.printing.html_render import receipt_html
from payhub.kernel.domain.receipts import Receipt
from payhub.api.deps import ActorDep, HubDep
from payhub.api.openapi_docs import SIGNED, error_responses
from payhub.api.errors import locale_of
from payhub.api.schemas import Day, RowId
from payhub.counter.services import receipts

router = APIRouter(prefix="/api/v1/receipts", tags=["receipts"], responses=SIGNED | error_responses(403, 404, 409))

Copy = Annotated[bool, Query(description="a reprint: marked 重打印 / 副本 (a payment receipt is one anyway once the "
                                          "hub has served its original)")]
Format = Annotated[Literal["json", "html"], Query(description="json for the terminal agent, html to print in a browser")]
Paper = Annotated[Literal["58", "80"], Query(description="roll width in mm (html)")]
RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}, "text/html": {}}}}


@dataclass(frozen=True)
class Rendering:
    """How the caller wants the receipt: reprint or not, JSON or HTML, paper width, language."""

    copy: bool
    format: str
    paper_mm: int
    locale: str

    def answer(self, receipt: Receipt) -> Receipt | HTMLResponse:
        if self.format == "html":
            return HTMLResponse(receipt_html(receipt=receipt, paper_mm=self.paper_mm))
        return receipt


async def rendering(request: Request, copy: Copy = False, format: Format = "json", paper_mm: Paper = "80") -> Rendering:
    return Rendering(copy=copy, format=format, paper_mm=int(paper_mm), locale=locale_of(request))


RenderingDep = Annotated[Rendering, Depends(rendering)]


@router.get("/orders/{order_no}", response_model=Receipt, responses=RESPONSES, summary="Payment receipt (缴费凭条)")
async def order_receipt(order_no: str, hub: HubDep, actor: ActorDep, how: RenderingDep) -> Receipt | HTMLResponse:
    return how.answer(await receipts.payment_receipt(hub=hub, actor=actor, order_no=order_no, copy=how.copy,
                                                     locale=how.locale))


@router.get("/refunds/{refund_no}", response_model=Receipt, responses=RESPONSES, summary="Refund receipt (退款凭条)")
async def refund_receipt(refund_no: str, hub: HubDep, actor: ActorDep, how: RenderingDep) -> Receipt | HTMLResponse:
    return how.answer(await receipts.refund_receipt(hub=hub, actor=actor, refund_no=refund_no, copy=how.copy,
                                                    locale=how.locale))


@router.get("/shift", response_model=Receipt, responses=RESPONSES,
            summary="End-of-shift summary (交班汇总) of the logged-in operator; supervisors may name another")
async def shift_receipt(
    hub: HubDep, actor: ActorDep, how: RenderingDep,
    date: Annotated[Day, Query(description="business day, China time (YYYY-MM-DD)")],
    operator_id: Annotated[RowId | None, Query(description="another operator (supervisor only)")] = None,
) -> Receipt | HTMLResponse:
    return how.answer(await receipts.shift_receipt(hub=hub, actor=actor, day=date, operator_id=operator_id,
                                                   copy=how.copy, locale=how.locale))
