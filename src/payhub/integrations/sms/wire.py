"""Alibaba Cloud SMS, Dysmsapi SendSms (API version 2017-05-25), RPC style with signature version 1.0.

    POST https://dysmsapi.aliyuncs.com/?<common parameters>&Signature=...   body (form): <SendSms parameters>
    common:   AccessKeyId, Action=SendSms, Format=JSON, RegionId, SignatureMethod=HMAC-SHA1, SignatureNonce (unique),
              SignatureVersion=1.0, Timestamp (UTC, yyyy-MM-ddTHH:mm:ssZ), Version=2017-05-25
    SendSms:  PhoneNumbers, SignName, TemplateCode, TemplateParam (JSON object of strings, e.g. {"code":"123456"})
    Signature = Base64(HMAC-SHA1(key = AccessKeySecret + "&", StringToSign))
    StringToSign = METHOD + "&" + pct("/") + "&" + pct(canonical query)
    canonical query: every parameter of query and body but Signature, sorted by name, pct(name) "=" pct(value), joined by "&"
    pct: UTF-8 bytes; A-Z a-z 0-9 - _ . ~ stay, everything else is %XX (space %20, * %2A, ~ never encoded)
    answer (JSON): {"Code": "OK", "Message": "OK", "BizId": "...", "RequestId": "..."} or an error Code with its Message

The phone number and the code travel in the body, so they stay out of URLs and access logs.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from payhub.kernel.ports import SmsRefusal, SmsRefused, SmsUnavailable

ACTION = "SendSms"
VERSION = "2017-05-25"
SIGNATURE_METHOD = "HMAC-SHA1"
SIGNATURE_VERSION = "1.0"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
REQUIRED_COMMON = ("AccessKeyId", "Action", "SignatureMethod", "SignatureNonce", "SignatureVersion", "Timestamp",
                   "Version", "Signature")   # Format (XML by default) and RegionId may be left out
REQUIRED_SEND_SMS = ("PhoneNumbers", "SignName", "TemplateCode")

OK = "OK"
RATE_LIMITED = "isv.BUSINESS_LIMIT_CONTROL"     # per-number flow control (e.g. 1 a minute, 5 an hour, 10 a day)
DAY_LIMITED = "isv.DAY_LIMIT_CONTROL"           # the account's daily quota
BAD_NUMBER = "isv.MOBILE_NUMBER_ILLEGAL"
NO_BALANCE = "isv.AMOUNT_NOT_ENOUGH"
BAD_SIGN_NAME = "isv.SMS_SIGNATURE_ILLEGAL"
BAD_TEMPLATE = "isv.SMS_TEMPLATE_ILLEGAL"
MISSING_TEMPLATE_PARAMETER = "isv.TEMPLATE_MISSING_PARAMETERS"
BAD_JSON_PARAMETER = "isv.INVALID_JSON_PARAM"
SYSTEM_ERROR = "isp.SYSTEM_ERROR"
BAD_SIGNATURE = "SignatureDoesNotMatch"
UNKNOWN_ACCESS_KEY = "InvalidAccessKeyId.NotFound"
STALE_TIMESTAMP = "InvalidTimeStamp.Expired"
NONCE_USED = "SignatureNonceUsed"
_REASONS = {RATE_LIMITED: SmsRefusal.RATE_LIMITED, DAY_LIMITED: SmsRefusal.RATE_LIMITED, BAD_NUMBER: SmsRefusal.BAD_NUMBER}
# Answers that refuse nothing for good: the provider failed, or (nonce) the same request must simply be made anew.
_TRY_AGAIN = frozenset({SYSTEM_ERROR, NONCE_USED, "ServiceUnavailable", "InternalError", "Throttling.User"})


def percent_encode(text: str) -> str:
    """RFC 3986 percent-encoding of the UTF-8 bytes: only unreserved characters stay as they are."""
    return quote(text, safe="")


def canonical_query(params: Mapping[str, str]) -> str:
    """The sorted, encoded parameters (Signature left out) that the signature covers."""
    return "&".join(f"{percent_encode(name)}={percent_encode(params[name])}"
                    for name in sorted(params) if name != "Signature")


def string_to_sign(*, method: str, params: Mapping[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(*, secret: str, method: str, params: Mapping[str, str]) -> str:
    """Base64 HMAC-SHA1 over the string to sign, keyed with the AccessKey secret and "&"."""
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method=method, params=params).encode(), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


def signature_matches(*, secret: str, method: str, params: Mapping[str, str]) -> bool:
    return hmac.compare_digest(signature(secret=secret, method=method, params=params).encode(),
                               params.get("Signature", "").encode())


def timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class SendSmsRequest:
    """A signed SendSms call: common parameters and the signature go in the URL, the message's in the form body."""

    query: dict[str, str]
    form: dict[str, str]


def send_sms_request(
    *, access_key_id: str, secret: str, region_id: str, sign_name: str, template_code: str, template_param: str,
    phone: str, code: str, at: datetime, nonce: str,
) -> SendSmsRequest:
    """SendSms of a verification code to one phone, signed for POST."""
    query = {
        "AccessKeyId": access_key_id, "Action": ACTION, "Format": "JSON", "RegionId": region_id,
        "SignatureMethod": SIGNATURE_METHOD, "SignatureNonce": nonce, "SignatureVersion": SIGNATURE_VERSION,
        "Timestamp": timestamp(at), "Version": VERSION,
    }
    form = {"PhoneNumbers": phone, "SignName": sign_name, "TemplateCode": template_code,
            "TemplateParam": json.dumps({template_param: code}, ensure_ascii=False, separators=(",", ":"))}
    query["Signature"] = signature(secret=secret, method="POST", params=query | form)
    return SendSmsRequest(query=query, form=form)


@dataclass(frozen=True)
class Answer:
    code: str
    message: str
    request_id: str
    biz_id: str | None = None

    def to_json(self) -> dict[str, str]:
        body = {"Code": self.code, "Message": self.message, "RequestId": self.request_id}
        return body | ({"BizId": self.biz_id} if self.biz_id else {})


def read_answer(content: bytes) -> Answer | None:
    """The answer's fields, or None when it is not the provider's JSON."""
    try:
        body = json.loads(content)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("Code"), str):
        return None
    return Answer(code=body["Code"], message=str(body.get("Message", "")), request_id=str(body.get("RequestId", "")),
                  biz_id=body.get("BizId"))


def raise_unless_sent(answer: Answer) -> None:
    """Nothing for OK; SmsUnavailable for a provider failure worth another try later; SmsRefused for the rest."""
    if answer.code == OK:
        return
    if answer.code in _TRY_AGAIN:
        raise SmsUnavailable(f"{answer.code}: {answer.message}")
    raise SmsRefused(reason=_REASONS.get(answer.code, SmsRefusal.OTHER), vendor_code=answer.code, message=answer.message)


def mask_phone(phone: str) -> str:
    """A phone number safe to log: the first 3 and last 4 digits."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) > 7 else "*" * len(phone)
