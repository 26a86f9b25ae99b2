"""The shared biller suite: every Biller connector passes it against its own sandbox, in process.

A new biller joins by adding one harness factory to HARNESSES. The TCIS-only checks follow the suite.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from payhub.integrations.tcis.client import TcisBiller
from payhub.integrations.tcis.sandbox import DEFAULT_SEED, SCENARIOS, TcisSandbox
from payhub.integrations.tcis.wire import signed_headers
from payhub.config import TcisSettings
from payhub.counter.domain.billing import PostingRequest, PostingResult, PostingStatus
from payhub.counter.domain.fees import FeeType
from payhub.counter.ports import Biller, BillerAccountUnknown, BillerUnavailable

TCIS_APP_ID = "payhub-test"
TCIS_SECRET = "tcis-test-secret"
TCIS_URL = "http://tcis.sandbox"


@dataclass(frozen=True, slots=True)
class Account:
    account_no: str
    fee_type: FeeType


@dataclass(frozen=True, slots=True)
class ScenarioAccounts:
    """The far side's accounts for each case the suite plays."""

    billed: Account       # several open bills, prepayment allowed
    no_prepay: Account    # open bills, prepayment refused
    nothing_due: Account  # no open bills, prepayment allowed
    refused_posting: Account
    slow_posting: Account  # booked, but answered after the connector's timeout
    slow_arrears: Account
    refused_reversal: Account
    unknown: Account


@dataclass(frozen=True, slots=True)
class BillerHarness:
    biller: Biller
    forged: Biller  # the same connector holding a wrong key
    accounts: ScenarioAccounts
    is_booked: Callable[[str], bool]  # whether the far side holds a posting under this number


@dataclass(frozen=True, slots=True)
class TcisWorld:
    sandbox: TcisSandbox
    http: httpx.AsyncClient
    biller: TcisBiller


def tcis_biller(*, http: httpx.AsyncClient, secret: str = TCIS_SECRET) -> TcisBiller:
    settings = TcisSettings(base_url=TCIS_URL, app_id=TCIS_APP_ID, secret=secret, timeout_seconds=0.2)
    return TcisBiller(settings=settings, http=http)


@asynccontextmanager
async def open_tcis(*, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> AsyncIterator[TcisWorld]:
    sandbox = TcisSandbox(app_id=TCIS_APP_ID, secret=TCIS_SECRET, now=now, slow_seconds=1.0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=TCIS_URL) as http:
        yield TcisWorld(sandbox=sandbox, http=http, biller=tcis_biller(http=http))


@asynccontextmanager
async def tcis_harness() -> AsyncIterator[BillerHarness]:
    async with open_tcis() as world:
        gas = FeeType.GAS
        yield BillerHarness(
            biller=world.biller,
            forged=tcis_biller(http=world.http, secret="not-the-secret"),
            accounts=ScenarioAccounts(
                billed=Account("10010001", gas), no_prepay=Account("10010005", gas),
                nothing_due=Account("10010004", gas), refused_posting=Account("10010091", gas),
                slow_posting=Account("10010092", gas), slow_arrears=Account("10010093", gas),
                refused_reversal=Account("10010094", gas), unknown=Account("10019999", gas),
            ),
            is_booked=lambda posting_no: posting_no in world.sandbox.postings,
        )


HARNESSES: dict[str, Callable[[], AbstractAsyncContextManager[BillerHarness]]] = {"tcis": tcis_harness}


@pytest.fixture(params=sorted(HARNESSES))
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[BillerHarness]:
    async with HARNESSES[request.param]() as opened:
        yield opened


def posting_for(account: Account, *, amount: int, bill_ids: tuple[str, ...] = ()) -> PostingRequest:
    return PostingRequest(
        posting_no=f"P{uuid.uuid4().hex[:20]}", account_no=account.account_no, fee_type=account.fee_type,
        amount=amount, paid_at=datetime.now(UTC), bill_ids=bill_ids, channel_trade_no=f"SP{uuid.uuid4().hex[:12]}",
    )


async def pay_oldest_bill(harness: BillerHarness, account: Account) -> tuple[PostingRequest, PostingResult]:
    arrears = await harness.biller.query_arrears(account_no=account.account_no, fee_type=account.fee_type)
    oldest = arrears.bills[0]
    request = posting_for(account, amount=oldest.amount, bill_ids=(oldest.bill_id,))
    return request, await harness.biller.post_payment(request=request)


async def total_due(harness: BillerHarness, account: Account) -> int:
    arrears = await harness.biller.query_arrears(account_no=account.account_no, fee_type=account.fee_type)
    return arrears.total_due


async def pay_total_due(harness: BillerHarness, account: Account) -> tuple[int, PostingRequest, PostingResult]:
    due = await total_due(harness, account)
    request = posting_for(account, amount=due)
    return due, request, await harness.biller.post_payment(request=request)


# The shared suite.

async def test_arrears_lists_the_open_bills(harness: BillerHarness) -> None:
    account = harness.accounts.billed
    arrears = await harness.biller.query_arrears(account_no=account.account_no, fee_type=account.fee_type)
    assert (arrears.account_no, arrears.fee_type) == (account.account_no, account.fee_type)
    assert len(arrears.bills) >= 2
    assert [bill.period for bill in arrears.bills] == sorted(bill.period for bill in arrears.bills)
    assert arrears.total_due == sum(bill.amount for bill in arrears.bills) > 0
    assert "*" in arrears.customer_name
    assert arrears.address


async def test_unknown_account_is_reported(harness: BillerHarness) -> None:
    account = harness.accounts.unknown
    with pytest.raises(BillerAccountUnknown) as raised:
        await harness.biller.query_arrears(account_no=account.account_no, fee_type=account.fee_type)
    assert raised.value.account_no == account.account_no


async def test_slow_arrears_query_is_unavailable(harness: BillerHarness) -> None:
    account = harness.accounts.slow_arrears
    with pytest.raises(BillerUnavailable):
        await harness.biller.query_arrears(account_no=account.account_no, fee_type=account.fee_type)


async def test_posting_a_named_bill_books_it_and_reduces_arrears(harness: BillerHarness) -> None:
    account = harness.accounts.billed
    before = await harness.biller.query_arrears(account_no=account.account_no, fee_type=account.fee_type)
    request, result = await pay_oldest_bill(harness, account)
    assert result.status is PostingStatus.POSTED
    assert result.posting_no == request.posting_no
    assert result.biller_ref and result.posted_at is not None
    after = await harness.biller.query_arrears(account_no=account.account_no, fee_type=account.fee_type)
    assert after.total_due == before.total_due - request.amount
    assert request.bill_ids[0] not in {bill.bill_id for bill in after.bills}


async def test_posting_without_bills_pays_the_oldest_first(harness: BillerHarness) -> None:
    account = harness.accounts.billed
    before = await harness.biller.query_arrears(account_no=account.account_no, fee_type=account.fee_type)
    two_oldest = before.bills[:2]
    request = posting_for(account, amount=sum(bill.amount for bill in two_oldest))
    assert (await harness.biller.post_payment(request=request)).status is PostingStatus.POSTED
    after = await harness.biller.query_arrears(account_no=account.account_no, fee_type=account.fee_type)
    assert after.bills == before.bills[2:]


async def test_the_same_posting_twice_books_once(harness: BillerHarness) -> None:
    account = harness.accounts.billed
    due = await total_due(harness, account)
    request, first = await pay_oldest_bill(harness, account)
    again = await harness.biller.post_payment(request=request)
    assert again == first
    assert await total_due(harness, account) == due - request.amount


async def test_the_same_posting_no_with_other_content_is_refused(harness: BillerHarness) -> None:
    account = harness.accounts.billed
    request, first = await pay_oldest_bill(harness, account)
    changed = PostingRequest(
        posting_no=request.posting_no, account_no=request.account_no, fee_type=request.fee_type,
        amount=request.amount + 100, paid_at=request.paid_at,
    )
    clash = await harness.biller.post_payment(request=changed)
    assert clash.status is PostingStatus.REFUSED
    assert clash.code and clash.message
    assert await harness.biller.query_posting(posting_no=request.posting_no) == first


async def test_query_finds_a_booked_posting(harness: BillerHarness) -> None:
    request, posted = await pay_oldest_bill(harness, harness.accounts.billed)
    queried = await harness.biller.query_posting(posting_no=request.posting_no)
    assert queried.status is PostingStatus.POSTED
    assert (queried.biller_ref, queried.posted_at) == (posted.biller_ref, posted.posted_at)


async def test_query_of_an_unknown_posting_is_not_found(harness: BillerHarness) -> None:
    result = await harness.biller.query_posting(posting_no="P-never-sent")
    assert result.status is PostingStatus.NOT_FOUND
    assert result.posting_no == "P-never-sent"


async def test_a_refused_posting_says_why_and_changes_nothing(harness: BillerHarness) -> None:
    account = harness.accounts.refused_posting
    due, request, refused = await pay_total_due(harness, account)
    assert refused.status is PostingStatus.REFUSED
    assert refused.code and refused.message
    assert (await harness.biller.query_posting(posting_no=request.posting_no)).status is PostingStatus.REFUSED
    assert await total_due(harness, account) == due


async def test_a_posting_timeout_is_unknown_until_queried(harness: BillerHarness) -> None:
    account = harness.accounts.slow_posting
    _, request, timed_out = await pay_total_due(harness, account)
    assert timed_out.status is PostingStatus.UNKNOWN
    assert harness.is_booked(request.posting_no)
    assert (await harness.biller.query_posting(posting_no=request.posting_no)).status is PostingStatus.POSTED
    assert await total_due(harness, account) == 0


async def test_prepayment_without_arrears_is_booked(harness: BillerHarness) -> None:
    account = harness.accounts.nothing_due
    assert await total_due(harness, account) == 0
    result = await harness.biller.post_payment(request=posting_for(account, amount=5000))
    assert result.status is PostingStatus.POSTED


async def test_an_account_without_prepayment_takes_only_the_total_due(harness: BillerHarness) -> None:
    account = harness.accounts.no_prepay
    due = await total_due(harness, account)
    too_much = await harness.biller.post_payment(request=posting_for(account, amount=due + 100))
    assert too_much.status is PostingStatus.REFUSED
    assert await total_due(harness, account) == due
    exact = await harness.biller.post_payment(request=posting_for(account, amount=due))
    assert exact.status is PostingStatus.POSTED
    assert await total_due(harness, account) == 0


async def test_other_fees_post_to_an_existing_account_without_touching_its_bills(harness: BillerHarness) -> None:
    billed = harness.accounts.billed
    due = await total_due(harness, billed)
    other = Account(billed.account_no, FeeType.OTHER)
    assert (await harness.biller.post_payment(request=posting_for(other, amount=1500))).status is PostingStatus.POSTED
    unknown = Account(harness.accounts.unknown.account_no, FeeType.OTHER)
    assert (await harness.biller.post_payment(request=posting_for(unknown, amount=1500))).status is PostingStatus.REFUSED
    assert await total_due(harness, billed) == due


async def test_a_full_reversal_reopens_the_bill(harness: BillerHarness) -> None:
    account = harness.accounts.billed
    due = await total_due(harness, account)
    request, _ = await pay_oldest_bill(harness, account)
    reversed_ = await harness.biller.reverse_posting(
        posting_no=request.posting_no, reversal_no=f"R{request.posting_no}", amount=request.amount, reason="柜员录错户号",
    )
    assert reversed_.status is PostingStatus.REVERSED
    assert (await harness.biller.query_posting(posting_no=request.posting_no)).status is PostingStatus.REVERSED
    assert await total_due(harness, account) == due


async def test_partial_reversals_run_up_to_the_posted_amount(harness: BillerHarness) -> None:
    request, _ = await pay_oldest_bill(harness, harness.accounts.billed)
    first_part = request.amount // 3

    async def reverse(reversal_no: str, amount: int) -> PostingStatus:
        result = await harness.biller.reverse_posting(
            posting_no=request.posting_no, reversal_no=reversal_no, amount=amount, reason="部分退款",
        )
        return result.status

    assert await reverse("R1", first_part) is PostingStatus.REVERSED
    assert (await harness.biller.query_posting(posting_no=request.posting_no)).status is PostingStatus.POSTED
    assert await reverse("R2", request.amount - first_part + 1) is PostingStatus.REFUSED
    assert await reverse("R3", request.amount - first_part) is PostingStatus.REVERSED
    assert await reverse("R4", 1) is PostingStatus.REFUSED
    assert (await harness.biller.query_posting(posting_no=request.posting_no)).status is PostingStatus.REVERSED


async def test_a_reversal_above_the_posted_amount_is_refused(harness: BillerHarness) -> None:
    request, _ = await pay_oldest_bill(harness, harness.accounts.billed)
    refused = await harness.biller.reverse_posting(
        posting_no=request.posting_no, reversal_no="R-over", amount=request.amount + 1, reason="超额冲正",
    )
    assert refused.status is PostingStatus.REFUSED
    assert refused.code and refused.message
    assert (await harness.biller.query_posting(posting_no=request.posting_no)).status is PostingStatus.POSTED


async def test_the_same_reversal_twice_takes_back_once(harness: BillerHarness) -> None:
    request, _ = await pay_oldest_bill(harness, harness.accounts.billed)
    half = request.amount // 2
    first = await harness.biller.reverse_posting(posting_no=request.posting_no, reversal_no="R-a", amount=half, reason="退款")
    again = await harness.biller.reverse_posting(posting_no=request.posting_no, reversal_no="R-a", amount=half, reason="退款")
    assert first.status is PostingStatus.REVERSED
    assert again == first
    rest = await harness.biller.reverse_posting(
        posting_no=request.posting_no, reversal_no="R-b", amount=request.amount - half, reason="退款",
    )
    assert rest.status is PostingStatus.REVERSED


async def test_a_reversal_can_be_refused(harness: BillerHarness) -> None:
    account = harness.accounts.refused_reversal
    request, posted = await pay_oldest_bill(harness, account)
    assert posted.status is PostingStatus.POSTED
    refused = await harness.biller.reverse_posting(
        posting_no=request.posting_no, reversal_no="R-locked", amount=request.amount, reason="退款",
    )
    assert refused.status is PostingStatus.REFUSED
    assert refused.code and refused.message


async def test_a_reversal_of_an_unknown_posting_is_not_found(harness: BillerHarness) -> None:
    result = await harness.biller.reverse_posting(posting_no="P-never-sent", reversal_no="R-x", amount=100, reason="退款")
    assert result.status is PostingStatus.NOT_FOUND


async def test_a_wrong_key_is_refused_and_books_nothing(harness: BillerHarness) -> None:
    account = harness.accounts.billed
    with pytest.raises(BillerUnavailable):
        await harness.forged.query_arrears(account_no=account.account_no, fee_type=account.fee_type)
    request = posting_for(account, amount=1000)
    assert (await harness.forged.post_payment(request=request)).status is PostingStatus.UNKNOWN
    assert not harness.is_booked(request.posting_no)


# TCIS only: the sandbox's wire behaviour and the connector's reading of bad answers.

@pytest.fixture
async def tcis() -> AsyncIterator[TcisWorld]:
    async with open_tcis() as world:
        yield world


def signed(*, method: str, target: str, body: bytes = b"", secret: str = TCIS_SECRET, at: float | None = None) -> dict[str, str]:
    stamp = int(time.time() if at is None else at)
    return signed_headers(app_id=TCIS_APP_ID, secret=secret, method=method, target=target, body=body, timestamp=stamp)


ARREARS_TARGET = "/api/v1/accounts/10010001/arrears?fee_type=gas"


async def test_sandbox_answers_a_bad_signature_with_401_json(tcis: TcisWorld) -> None:
    answer = await tcis.http.get(ARREARS_TARGET, headers=signed(method="GET", target=ARREARS_TARGET, secret="wrong"))
    assert answer.status_code == 401
    assert answer.json()["code"] == "BAD_SIGNATURE" and answer.json()["message"]
    assert (await tcis.http.get(ARREARS_TARGET)).json()["code"] == "SIGNATURE_REQUIRED"


async def test_sandbox_signature_covers_the_query_and_the_clock(tcis: TcisWorld) -> None:
    other_query = ARREARS_TARGET.replace("gas", "water")
    tampered = await tcis.http.get(other_query, headers=signed(method="GET", target=ARREARS_TARGET))
    assert tampered.json()["code"] == "BAD_SIGNATURE"
    stale = await tcis.http.get(ARREARS_TARGET, headers=signed(method="GET", target=ARREARS_TARGET, at=time.time() - 301))
    assert (stale.status_code, stale.json()["code"]) == (401, "TIMESTAMP_SKEW")
    fresh = await tcis.http.get(ARREARS_TARGET, headers=signed(method="GET", target=ARREARS_TARGET))
    assert fresh.status_code == 200


async def test_sandbox_refuses_a_malformed_posting_with_400_json(tcis: TcisWorld) -> None:
    body = b'{"posting_no": "P1", "account_no": "10010001", "fee_type": "gas", "amount": 12.5}'
    answer = await tcis.http.post("/api/v1/postings", content=body, headers=signed(method="POST", target="/api/v1/postings", body=body))
    assert (answer.status_code, answer.json()["code"]) == (400, "BAD_REQUEST")
    assert tcis.sandbox.postings == {}


async def test_other_fees_have_no_arrears_query(tcis: TcisWorld) -> None:
    with pytest.raises(BillerUnavailable, match="NO_ARREARS_QUERY"):
        await tcis.biller.query_arrears(account_no="10010001", fee_type=FeeType.OTHER)


async def test_an_account_answers_only_for_its_own_fee_type(tcis: TcisWorld) -> None:
    with pytest.raises(BillerAccountUnknown):
        await tcis.biller.query_arrears(account_no="10010001", fee_type=FeeType.WATER)
    water = await tcis.biller.query_arrears(account_no="20010001", fee_type=FeeType.WATER)
    assert water.customer_name == "刘*兰"


async def test_the_ic_card_customer_is_flagged(tcis: TcisWorld) -> None:
    arrears = await tcis.biller.query_arrears(account_no="10010003", fee_type=FeeType.GAS)
    assert arrears.ic_card is True
    assert arrears.address.endswith("***室")


async def test_a_partial_reversal_takes_prepaid_money_back_before_reopening_bills(tcis: TcisWorld) -> None:
    customer = tcis.sandbox.customers["10010001"]
    oldest = customer.open_bills[0]
    request = posting_for(Account("10010001", FeeType.GAS), amount=oldest.amount + 500)
    assert (await tcis.biller.post_payment(request=request)).status is PostingStatus.POSTED
    assert (customer.prepaid_balance, oldest in customer.open_bills) == (500, False)
    await tcis.biller.reverse_posting(posting_no=request.posting_no, reversal_no="R1", amount=500, reason="退预存")
    assert (customer.prepaid_balance, oldest in customer.open_bills) == (0, False)
    await tcis.biller.reverse_posting(posting_no=request.posting_no, reversal_no="R2", amount=1000, reason="退款")
    assert (customer.prepaid_balance, customer.open_bills[0]) == (oldest.amount - 1000, oldest)
    assert tcis.sandbox.postings[request.posting_no].reversed_amount == 1500


async def test_control_endpoints_list_and_reset(tcis: TcisWorld) -> None:
    customers = (await tcis.http.get("/_sandbox/customers")).json()
    wang = next(customer for customer in customers if customer["account_no"] == "10010001")
    assert wang["name"] == "王建华" and wang["total_due"] == 8640 + 7320 + 5480 + 4210
    request = posting_for(Account("10010001", FeeType.GAS), amount=8640)
    await tcis.biller.post_payment(request=request)
    postings = (await tcis.http.get("/_sandbox/postings")).json()
    assert [(posting["posting_no"], posting["paid_bill_ids"]) for posting in postings] == [
        (request.posting_no, ["10010001-202603"]),
    ]
    assert (await tcis.http.post("/_sandbox/reset")).status_code == 200
    assert tcis.sandbox.postings == {}
    assert tcis.sandbox.customers["10010001"].open_bills[0].bill_id == "10010001-202603"


def test_the_seed_covers_every_scenario_and_avoids_swiftpass_triggers() -> None:
    suffixes = {customer.account_no[-2:] for customer in DEFAULT_SEED}
    assert set(SCENARIOS) <= suffixes
    amounts = [bill.amount for customer in DEFAULT_SEED for bill in customer.bills]
    assert amounts and all(not 91 <= amount % 100 <= 99 for amount in amounts)
    assert {customer.fee_type for customer in DEFAULT_SEED} == {FeeType.GAS, FeeType.WATER, FeeType.BUSINESS}


def answering(status: int, content: bytes) -> TcisBiller:
    transport = httpx.MockTransport(lambda _: httpx.Response(status, content=content))
    return tcis_biller(http=httpx.AsyncClient(transport=transport))


UNCLEAR_ANSWERS = {
    "server error": (502, b"<html>Bad Gateway</html>"),
    "server error with json": (500, b'{"code": "DB_DOWN", "message": "\xe6\x95\xb0\xe6\x8d\xae\xe5\xba\x93"}'),
    "garbage": (200, b"not json"),
    "wrong shape": (200, b'{"posting_no": "P1", "status": "maybe", "amount": 100}'),
    "other posting": (200, b'{"posting_no": "P2", "status": "posted", "amount": 100}'),
    "bad key": (401, b'{"code": "BAD_SIGNATURE", "message": "x"}'),
    "unknown route": (404, b'{"detail": "Not Found"}'),
}


@pytest.mark.parametrize("status, content", list(UNCLEAR_ANSWERS.values()), ids=list(UNCLEAR_ANSWERS))
async def test_unclear_answers_leave_a_posting_unknown(status: int, content: bytes) -> None:
    biller = answering(status, content)
    assert (await biller.query_posting(posting_no="P1")).status is PostingStatus.UNKNOWN
    assert (await biller.reverse_posting(posting_no="P1", reversal_no="R1", amount=100, reason="x")).status is PostingStatus.UNKNOWN
    with pytest.raises(BillerUnavailable):
        await biller.query_arrears(account_no="10010001", fee_type=FeeType.GAS)


async def test_an_arrears_total_that_disagrees_with_its_bills_is_unavailable() -> None:
    body = (b'{"account_no": "10010001", "fee_type": "gas", "customer_name": "x", "address": "y",'
            b' "bills": [{"bill_id": "b", "period": "2026-06", "amount": 100}], "total_due": 200,'
            b' "prepay_allowed": true, "ic_card": false}')
    with pytest.raises(BillerUnavailable, match="BAD_ANSWER"):
        await answering(200, body).query_arrears(account_no="10010001", fee_type=FeeType.GAS)
