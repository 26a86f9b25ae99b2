"""The TCIS connector: the hub's Biller spoken over the JSON contract in docs/tcis-contract.md."""
from __future__ import annotations

import asyncio
import re
import time
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from payhub.integrations.tcis.wire import (
    ArrearsAnswer,
    ErrorAnswer,
    PostingAnswer,
    ReversalAnswer,
    ReversalBody,
    WireRequest,
    arrears_from_answer,
    posting_body,
    posting_result,
    signed_headers,
)
from payhub.config import TcisSettings
from payhub.counter.domain.billing import Arrears, PostingRequest, PostingResult, PostingStatus
from payhub.kernel.domain.errors import InvalidInput
from payhub.counter.domain.fees import FeeType
from payhub.counter.ports import BillerAccountUnknown, BillerUnavailable

AnswerModel = type[PostingAnswer] | type[ReversalAnswer]

# Answers that settle a posting call for good. 401/403 are left out on purpose: a wrong key says
# nothing about the posting, so the call stays UNKNOWN and is retried once the key is fixed.
EXPLICIT_REFUSAL_STATUSES = frozenset({400, 404, 409, 422})
# what an account number may be before it becomes a path segment ("..", "/" or "%" would change the URL)
ACCOUNT_NO = re.compile(r"[A-Za-z0-9_-]{1,64}")


class NoAnswer(Exception):
    """TCIS gave no usable answer: a timeout, a broken connection or a message we cannot read."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TcisBiller:
    """Reads customers' arrears at TCIS and books the hub's paid orders there."""

    name = "tcis"

    def __init__(self, *, settings: TcisSettings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    async def query_arrears(self, *, account_no: str, fee_type: FeeType) -> Arrears:
        """The customer's unpaid bills. Raises BillerAccountUnknown or BillerUnavailable."""
        if not ACCOUNT_NO.fullmatch(account_no):
            raise InvalidInput("BAD_ACCOUNT_NO")
        path = f"/api/v1/accounts/{quote(account_no, safe='')}/arrears"
        try:
            response = await self._send(method="GET", path=path, query={"fee_type": fee_type.value})
            if response.status_code == 200:
                return self._read_arrears(response=response, account_no=account_no, fee_type=fee_type)
        except NoAnswer as silence:
            raise BillerUnavailable(str(silence)) from silence
        error = read_error(response=response)
        if response.status_code == 404 and error is not None and error.code == "ACCOUNT_NOT_FOUND":
            raise BillerAccountUnknown(account_no)
        raise BillerUnavailable(describe(response=response, error=error))

    async def post_payment(self, *, request: PostingRequest) -> PostingResult:
        """Book a paid order; idempotent by posting_no. Never raises for an unclear outcome."""
        return await self._posting_call(
            posting_no=request.posting_no, method="POST", path="/api/v1/postings",
            body=posting_body(request=request), answer_model=PostingAnswer,
        )

    async def query_posting(self, *, posting_no: str) -> PostingResult:
        """The posting's current state."""
        return await self._posting_call(
            posting_no=posting_no, method="GET", path=f"/api/v1/postings/{quote(posting_no, safe='')}",
            body=None, answer_model=PostingAnswer,
        )

    async def reverse_posting(self, *, posting_no: str, reversal_no: str, amount: int, reason: str) -> PostingResult:
        """Take back part or all of a posting; idempotent by reversal_no."""
        return await self._posting_call(
            posting_no=posting_no, method="POST", path=f"/api/v1/postings/{quote(posting_no, safe='')}/reversals",
            body=ReversalBody(reversal_no=reversal_no, amount=amount, reason=reason), answer_model=ReversalAnswer,
        )

    async def _posting_call(
        self, *, posting_no: str, method: str, path: str, body: WireRequest | None,
        answer_model: AnswerModel,
    ) -> PostingResult:
        try:
            response = await self._send(method=method, path=path, body=body)
            if response.status_code == 200:
                result = read_answer(model=answer_model, content=response.content)
                if result.posting_no != posting_no:
                    raise NoAnswer("BAD_ANSWER", f"应答的缴费流水号{result.posting_no}与请求不符")
                return result
        except NoAnswer as silence:
            return PostingResult(status=PostingStatus.UNKNOWN, posting_no=posting_no, code=silence.code, message=silence.message)
        error = read_error(response=response)
        if error is None or response.status_code not in EXPLICIT_REFUSAL_STATUSES:
            return PostingResult(
                status=PostingStatus.UNKNOWN, posting_no=posting_no, code=f"HTTP_{response.status_code}",
                message=describe(response=response, error=error),
            )
        if response.status_code == 404 and error.code == "POSTING_NOT_FOUND":
            return PostingResult(status=PostingStatus.NOT_FOUND, posting_no=posting_no, code=error.code, message=error.message)
        return PostingResult(status=PostingStatus.REFUSED, posting_no=posting_no, code=error.code, message=error.message)

    def _read_arrears(self, *, response: httpx.Response, account_no: str, fee_type: FeeType) -> Arrears:
        try:
            arrears = arrears_from_answer(answer=ArrearsAnswer.model_validate_json(response.content))
        except ValueError as error:
            raise NoAnswer("BAD_ANSWER", f"欠费应答无法识别：{error}") from error
        if (arrears.account_no, arrears.fee_type) != (account_no, fee_type):
            raise NoAnswer("BAD_ANSWER", f"应答的户号或费种（{arrears.account_no}/{arrears.fee_type}）与请求不符")
        return arrears

    async def _send(
        self, *, method: str, path: str, query: dict[str, str] | None = None, body: WireRequest | None = None,
    ) -> httpx.Response:
        content = b"" if body is None else body.model_dump_json().encode()
        timeout = self._settings.timeout_seconds
        request = self._http.build_request(
            method, self._settings.base_url.rstrip("/") + path, params=query, content=content, timeout=timeout,
            headers={"Content-Type": "application/json"} if body is not None else None,
        )
        request.headers.update(signed_headers(
            app_id=self._settings.app_id, secret=self._settings.secret, method=method,
            target=request.url.raw_path.decode("ascii"), body=content, timestamp=int(time.time()),
        ))
        try:
            # The outer deadline also covers transports that ignore httpx's timeout (in-process ASGI).
            async with asyncio.timeout(timeout):
                return await self._http.send(request)
        except (TimeoutError, httpx.TimeoutException) as error:
            raise NoAnswer("TIMEOUT", f"缴费系统{timeout:g}秒内未应答") from error
        except httpx.HTTPError as error:
            raise NoAnswer("UNREACHABLE", f"无法连接缴费系统：{type(error).__name__}") from error


def read_answer(*, model: AnswerModel, content: bytes) -> PostingResult:
    """An answer about a posting in the hub's words; NoAnswer when it cannot be read."""
    try:
        return posting_result(answer=model.model_validate_json(content))
    except ValidationError as error:
        raise NoAnswer("BAD_ANSWER", f"应答无法识别（{model.__name__}）") from error


def read_error(*, response: httpx.Response) -> ErrorAnswer | None:
    """The {code, message} body of an error answer, or None when it has none."""
    try:
        return ErrorAnswer.model_validate_json(response.content)
    except ValidationError:
        return None


def describe(*, response: httpx.Response, error: ErrorAnswer | None) -> str:
    """A one-line account of an answer that settles nothing, for logs and operators."""
    if error is None:
        return f"缴费系统应答异常（HTTP {response.status_code}）"
    return f"缴费系统应答异常（HTTP {response.status_code}，{error.code}：{error.message}）"
