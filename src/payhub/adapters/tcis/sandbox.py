"""A TCIS simulator: the contract of docs/tcis-contract.md over seeded customers kept in memory.

Scenarios are chosen by the account number's last two digits (see SCENARIOS); the seeded amounts never
end in 91–99, which the SwiftPass sandbox reads as its own scenario triggers.
"""
from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from payhub.adapters.tcis.wire import (
    ArrearsAnswer,
    PostingAnswer,
    PostingBody,
    ReversalAnswer,
    ReversalBody,
    arrears_answer,
    auth_refusal,
)
from payhub.domain.billing import Arrears, Bill
from payhub.domain.fees import FeeType

REFUSED_POSTINGS = "91"
SLOW_POSTINGS = "92"
SLOW_ARREARS = "93"
REFUSED_REVERSALS = "94"
SCENARIOS = {
    REFUSED_POSTINGS: "缴费被拒（ACCOUNT_LOCKED）",
    SLOW_POSTINGS: "缴费照常入账，但 slow_seconds 秒后才应答",
    SLOW_ARREARS: "欠费查询 slow_seconds 秒后才应答",
    REFUSED_REVERSALS: "冲正被拒（REVERSAL_NOT_ALLOWED）",
}

MESSAGES = {
    "ACCOUNT_NOT_FOUND": "户号{account_no}不存在或没有{fee}业务",
    "ACCOUNT_LOCKED": "该户已冻结（用气稽查中），暂停缴费，请到营业厅办理",
    "BILL_NOT_PAYABLE": "账单{bill_id}不存在或已缴清",
    "AMOUNT_BELOW_BILLS": "缴费金额{amount}分少于所缴账单合计{due}分",
    "PREPAY_NOT_ALLOWED": "该户不允许预存，缴费金额须等于所缴账单合计",
    "BILLS_NOT_ALLOWED": "其他费用不对应账单，请勿填写账单号",
    "POSTING_CONFLICT": "缴费流水号{posting_no}已使用，且内容与首次请求不同",
    "POSTING_NOT_FOUND": "缴费流水号{posting_no}不存在",
    "POSTING_NOT_REVERSIBLE": "该笔缴费未入账，不能冲正",
    "REVERSAL_EXCEEDS": "冲正金额超过可冲正金额{left}分",
    "REVERSAL_NOT_ALLOWED": "该户本期已结账，不能冲正，请到营业厅办理",
    "REVERSAL_CONFLICT": "冲正流水号{reversal_no}已使用，且内容与首次请求不同",
    "NO_ARREARS_QUERY": "其他费用无欠费可查，请直接按金额缴费",
    "BAD_REQUEST": "请求内容有误：{detail}",
    "SIGNATURE_REQUIRED": "缺少签名信息",
    "UNKNOWN_APP": "接入方未登记",
    "TIMESTAMP_SKEW": "请求时间与服务器相差超过5分钟",
    "BAD_SIGNATURE": "签名错误",
    "NOT_FOUND": "请求的地址不存在",
    "METHOD_NOT_ALLOWED": "不支持此请求方式",
    "INTERNAL": "系统繁忙，请稍后重试",
}


def message_for(code: str, params: dict[str, Any]) -> str:
    """The Chinese message of an error code with its parameters filled in."""
    return MESSAGES[code].format(**params)


class Refused(Exception):
    """A business refusal: answered 200 with status refused and remembered like any other answer."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.message = message_for(code, params)


class TcisError(Exception):
    """A request TCIS does not take at all: answered with an HTTP error status and {code, message}."""

    def __init__(self, code: str, *, status: int, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.message = message_for(code, params)


@dataclass(frozen=True, slots=True)
class SeedCustomer:
    """A customer as the sandbox starts (and restarts) with it."""

    account_no: str
    fee_type: FeeType
    name: str
    address: str
    bills: tuple[Bill, ...] = ()
    prepay_allowed: bool = True
    ic_card: bool = False


def monthly_bills(*, account_no: str, amounts: dict[str, int]) -> tuple[Bill, ...]:
    """Bills by period (YYYY-MM), with ids made of the account number and the period."""
    return tuple(
        Bill(bill_id=f"{account_no}-{period.replace('-', '')}", period=period, amount=amount)
        for period, amount in amounts.items()
    )


def _seed(account_no: str, fee_type: FeeType, name: str, address: str, amounts: dict[str, int], **flags: bool) -> SeedCustomer:
    return SeedCustomer(account_no, fee_type, name, address, monthly_bills(account_no=account_no, amounts=amounts), **flags)


GAS, WATER, BUSINESS = FeeType.GAS, FeeType.WATER, FeeType.BUSINESS
DEFAULT_SEED = (
    _seed("10010001", GAS, "王建华", "金水区文化路56号院3号楼2单元501室",
          {"2026-03": 8640, "2026-04": 7320, "2026-05": 5480, "2026-06": 4210}),
    _seed("10010002", GAS, "李秀芳", "二七区大学路112号院7号楼1单元302室",
          {"2026-04": 12350, "2026-05": 9870, "2026-06": 6650}),
    _seed("10010003", GAS, "陈志强", "中原区建设路88号院2号楼3单元601室", {"2026-06": 4560}, ic_card=True),
    _seed("10010004", GAS, "赵丽娟", "管城回族区紫荆山路30号院1号楼1单元1102室", {}),
    _seed("10010005", GAS, "孙国庆", "惠济区天河路19号院5号楼2单元201室",
          {"2026-05": 6780, "2026-06": 5320}, prepay_allowed=False),
    _seed("10010091", GAS, "周海燕", "金水区农业路27号院4号楼1单元702室", {"2026-06": 7450}),
    _seed("10010092", GAS, "吴振东", "二七区嵩山路45号院6号楼2单元402室", {"2026-05": 6120, "2026-06": 5830}),
    _seed("10010093", GAS, "郑晓梅", "中原区桐柏路160号院1号楼3单元301室", {"2026-06": 4380}),
    _seed("10010094", GAS, "冯德胜", "管城回族区城东路9号院2号楼1单元502室", {"2026-06": 8260}),
    _seed("20010001", WATER, "刘玉兰", "金水区经三路68号院8号楼2单元601室",
          {"2026-04": 3450, "2026-05": 3120, "2026-06": 2860}),
    _seed("30010001", BUSINESS, "欧阳振华", "郑东新区商都路100号1层108室", {"2026-05": 5000, "2026-06": 20000}),
)


def mask_name(name: str) -> str:
    """The name with all but its first and last characters hidden, e.g. 张*明, 王*."""
    if len(name) <= 2:
        return name[:1] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_address(address: str) -> str:
    """The address with its room number hidden."""
    return re.sub(r"\d+室$", "***室", address)


@dataclass(slots=True)
class Customer:
    """A customer's live state: the bills still open and the money paid in advance."""

    profile: SeedCustomer
    open_bills: list[Bill]
    prepaid_balance: int = 0

    def arrears(self) -> Arrears:
        """What an arrears query shows of this customer, names masked."""
        return Arrears(
            account_no=self.profile.account_no, fee_type=self.profile.fee_type,
            customer_name=mask_name(self.profile.name), address=mask_address(self.profile.address),
            bills=tuple(self.open_bills), prepay_allowed=self.profile.prepay_allowed, ic_card=self.profile.ic_card,
        )

    def reopen(self, *, bill: Bill) -> None:
        """Put a paid bill back among the open ones, oldest first."""
        self.open_bills.append(bill)
        self.open_bills.sort(key=lambda open_bill: open_bill.period)


@dataclass(slots=True)
class Posting:
    """One posting as TCIS remembers it, booked or refused."""

    body: PostingBody
    received_at: datetime
    biller_ref: str | None = None
    refusal: Refused | None = None
    paid_bills: list[Bill] = field(default_factory=list)
    credit_left: int = 0  # the part of this posting still held as prepaid balance
    reversed_amount: int = 0

    @property
    def status(self) -> str:
        if self.refusal is not None:
            return "refused"
        return "reversed" if self.reversed_amount == self.body.amount else "posted"

    def answer(self) -> PostingAnswer:
        """The posting's current state in wire form."""
        return PostingAnswer(
            posting_no=self.body.posting_no, status=self.status, amount=self.body.amount,
            reversed_amount=self.reversed_amount, biller_ref=self.biller_ref,
            posted_at=None if self.refusal else self.received_at,
            code=self.refusal.code if self.refusal else None, message=self.refusal.message if self.refusal else None,
        )


@dataclass(frozen=True, slots=True)
class Reversal:
    """One reversal request and the answer TCIS gave it."""

    posting_no: str
    body: ReversalBody
    answer: ReversalAnswer


def bills_named(*, customer: Customer, bill_ids: list[str]) -> list[Bill]:
    """The customer's open bills with these ids. Raises Refused for one unknown, paid or named twice."""
    open_by_id = {bill.bill_id: bill for bill in customer.open_bills}
    named = []
    for bill_id in bill_ids:
        bill = open_by_id.pop(bill_id, None)
        if bill is None:
            raise Refused("BILL_NOT_PAYABLE", bill_id=bill_id)
        named.append(bill)
    return named


def bills_oldest_first(*, customer: Customer, amount: int) -> list[Bill]:
    """The customer's oldest open bills that the amount pays in full."""
    paid, left = [], amount
    for bill in customer.open_bills:
        if bill.amount > left:
            break
        paid.append(bill)
        left -= bill.amount
    return paid


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class TcisSandbox:
    """TCIS in memory, served by `.app` with the real contract and authentication."""

    def __init__(
        self, *, app_id: str, secret: str, now: Callable[[], datetime] = utc_now, slow_seconds: float = 20.0,
        seed: Iterable[SeedCustomer] | None = None,
    ) -> None:
        self.app_id = app_id
        self.secret = secret
        self.now = now
        self.slow_seconds = slow_seconds
        self.seed = DEFAULT_SEED if seed is None else tuple(seed)
        self.customers: dict[str, Customer] = {}
        self.postings: dict[str, Posting] = {}
        self.reversals: dict[str, Reversal] = {}
        self.reset()
        self.app = self._build_app()

    def reset(self) -> None:
        """Forget every posting and reversal and bring the customers back to their seed."""
        self.customers = {
            profile.account_no: Customer(profile=profile, open_bills=list(profile.bills)) for profile in self.seed
        }
        self.postings = {}
        self.reversals = {}
        self._refs = itertools.count(1)

    def arrears(self, *, account_no: str, fee_type: FeeType) -> ArrearsAnswer:
        """The customer's open bills. Raises TcisError."""
        if not fee_type.has_arrears:
            raise TcisError("NO_ARREARS_QUERY", status=400)
        customer = self._customer(account_no=account_no, fee_type=fee_type)
        if customer is None:
            raise TcisError("ACCOUNT_NOT_FOUND", status=404, account_no=account_no, fee=fee_type.label_zh)
        return arrears_answer(arrears=customer.arrears())

    def post(self, *, body: PostingBody) -> PostingAnswer:
        """Book a posting, or answer again as the first time for a repeated one. Raises TcisError."""
        known = self.postings.get(body.posting_no)
        if known is not None:
            if known.body != body:
                raise TcisError("POSTING_CONFLICT", status=409, posting_no=body.posting_no)
            return known.answer()
        posting = Posting(body=body, received_at=self.now())
        try:
            self._book(posting=posting)
            posting.biller_ref = self._next_ref()
        except Refused as refusal:
            posting.refusal = refusal
        self.postings[body.posting_no] = posting
        return posting.answer()

    def posting(self, *, posting_no: str) -> PostingAnswer:
        """A posting's current state. Raises TcisError."""
        return self._posting(posting_no=posting_no).answer()

    def reverse(self, *, posting_no: str, body: ReversalBody) -> ReversalAnswer:
        """Take back part or all of a posting, once per reversal_no. Raises TcisError."""
        known = self.reversals.get(body.reversal_no)
        if known is not None:
            if (known.posting_no, known.body) != (posting_no, body):
                raise TcisError("REVERSAL_CONFLICT", status=409, reversal_no=body.reversal_no)
            return known.answer
        posting = self._posting(posting_no=posting_no)
        try:
            self._take_back(posting=posting, amount=body.amount)
            answer = ReversalAnswer(
                reversal_no=body.reversal_no, posting_no=posting_no, status="reversed", amount=body.amount,
                biller_ref=self._next_ref(), reversed_at=self.now(),
            )
        except Refused as refusal:
            answer = ReversalAnswer(
                reversal_no=body.reversal_no, posting_no=posting_no, status="refused", amount=body.amount,
                code=refusal.code, message=refusal.message,
            )
        self.reversals[body.reversal_no] = Reversal(posting_no=posting_no, body=body, answer=answer)
        return answer

    def _customer(self, *, account_no: str, fee_type: FeeType) -> Customer | None:
        """The account, if it takes this fee type; every account takes other fees."""
        customer = self.customers.get(account_no)
        if customer is None or fee_type not in (customer.profile.fee_type, FeeType.OTHER):
            return None
        return customer

    def _posting(self, *, posting_no: str) -> Posting:
        posting = self.postings.get(posting_no)
        if posting is None:
            raise TcisError("POSTING_NOT_FOUND", status=404, posting_no=posting_no)
        return posting

    def _next_ref(self) -> str:
        return f"TC{self.now():%Y%m%d}{next(self._refs):06d}"

    def _book(self, *, posting: Posting) -> None:
        body = posting.body
        customer = self._customer(account_no=body.account_no, fee_type=body.fee_type)
        if customer is None:
            raise Refused("ACCOUNT_NOT_FOUND", account_no=body.account_no, fee=body.fee_type.label_zh)
        if body.account_no.endswith(REFUSED_POSTINGS):
            raise Refused("ACCOUNT_LOCKED")
        if not body.fee_type.has_arrears:
            if body.bill_ids:
                raise Refused("BILLS_NOT_ALLOWED")
            return
        if body.bill_ids:
            paid = bills_named(customer=customer, bill_ids=body.bill_ids)
        else:
            paid = bills_oldest_first(customer=customer, amount=body.amount)
        credit = body.amount - sum(bill.amount for bill in paid)
        if credit < 0:
            raise Refused("AMOUNT_BELOW_BILLS", amount=body.amount, due=body.amount - credit)
        if credit and not customer.profile.prepay_allowed:
            raise Refused("PREPAY_NOT_ALLOWED")
        customer.open_bills = [bill for bill in customer.open_bills if bill not in paid]
        customer.prepaid_balance += credit
        posting.paid_bills, posting.credit_left = paid, credit

    def _take_back(self, *, posting: Posting, amount: int) -> None:
        if posting.refusal is not None:
            raise Refused("POSTING_NOT_REVERSIBLE")
        if posting.body.account_no.endswith(REFUSED_REVERSALS):
            raise Refused("REVERSAL_NOT_ALLOWED")
        left = posting.body.amount - posting.reversed_amount
        if amount > left:
            raise Refused("REVERSAL_EXCEEDS", left=left)
        posting.reversed_amount += amount
        if not posting.body.fee_type.has_arrears:
            return
        customer = self.customers[posting.body.account_no]
        from_credit = min(amount, posting.credit_left)
        posting.credit_left -= from_credit
        customer.prepaid_balance -= from_credit
        owed = amount - from_credit
        while owed > 0 and posting.paid_bills:
            bill = posting.paid_bills.pop()
            customer.reopen(bill=bill)
            owed -= bill.amount
        # A reopened bill larger than what was still to take back leaves the difference as prepaid money.
        posting.credit_left -= owed
        customer.prepaid_balance -= owed

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
            if account_no.endswith(SLOW_ARREARS):
                await asyncio.sleep(self.slow_seconds)
            return self.arrears(account_no=account_no, fee_type=fee_type)

        @router.post("/postings")
        async def post_payment(body: PostingBody) -> PostingAnswer:
            answer = self.post(body=body)
            if body.account_no.endswith(SLOW_POSTINGS):
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
        "bills": [{"bill_id": bill.bill_id, "period": bill.period, "amount": bill.amount} for bill in customer.open_bills],
        "total_due": sum(bill.amount for bill in customer.open_bills), "prepaid_balance": customer.prepaid_balance,
        "scenario": SCENARIOS.get(profile.account_no[-2:]),
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
