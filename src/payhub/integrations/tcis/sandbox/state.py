"""What the simulated TCIS holds in memory: customers and their open bills, postings and reversals, and the
rules of docs/tcis-contract.md that apply to them. The customers it starts (and resets) with come from
seed.json next to this module.
"""
from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from payhub.integrations.tcis.sandbox.scenarios import refuses_postings, refuses_reversals
from payhub.integrations.tcis.wire import (
    ArrearsAnswer,
    PostingAnswer,
    PostingBody,
    ReversalAnswer,
    ReversalBody,
    arrears_answer,
)
from payhub.counter.domain.billing import Arrears, Bill
from payhub.counter.domain.fees import FeeType

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


def message_for(code: str, params: Mapping[str, Any]) -> str:
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


def monthly_bills(*, account_no: str, amounts: Mapping[str, int]) -> tuple[Bill, ...]:
    """Bills by period (YYYY-MM), with ids made of the account number and the period."""
    return tuple(
        Bill(bill_id=f"{account_no}-{period.replace('-', '')}", period=period, amount=amount)
        for period, amount in amounts.items()
    )


def load_seed(*, text: str) -> tuple[SeedCustomer, ...]:
    """The customers of a seed file: {"customers": [{account_no, fee_type, name, address, bills: {period: fen},
    prepay_allowed?, ic_card?}]}."""
    return tuple(
        SeedCustomer(
            account_no=entry["account_no"], fee_type=FeeType(entry["fee_type"]), name=entry["name"],
            address=entry["address"], bills=monthly_bills(account_no=entry["account_no"], amounts=entry["bills"]),
            prepay_allowed=entry.get("prepay_allowed", True), ic_card=entry.get("ic_card", False),
        )
        for entry in json.loads(text)["customers"]
    )


DEFAULT_SEED = load_seed(text=files("payhub.integrations.tcis.sandbox").joinpath("seed.json").read_text(encoding="utf-8"))


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


class BillingState:
    """TCIS's customers, postings and reversals, and the contract's rules on them."""

    def __init__(self, *, now: Callable[[], datetime] = utc_now, seed: Iterable[SeedCustomer] | None = None) -> None:
        self.now = now
        self.seed = DEFAULT_SEED if seed is None else tuple(seed)
        self.customers: dict[str, Customer] = {}
        self.postings: dict[str, Posting] = {}
        self.reversals: dict[str, Reversal] = {}
        self.reset()

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
        if refuses_postings(account_no=body.account_no):
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
        if refuses_reversals(account_no=posting.body.account_no):
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
