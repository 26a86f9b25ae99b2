"""The Alibaba Cloud SMS connector (Dysmsapi SendSms) against its sandbox over HTTP, and the sandbox's own rules."""
from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from payhub.kernel.adapters.clock import ManualClock
from payhub.integrations.sms import wire
from payhub.integrations.sms.client import AliyunSms
from payhub.integrations.sms.sandbox import (
    DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, DEMO_SIGN_NAME, DEMO_TEMPLATE_CODE, SandboxSms,
)
from payhub.bootstrap import build
from payhub.config import AliyunSmsSettings, Settings
from payhub.kernel.ports import SmsRefusal, SmsRefused, SmsUnavailable
from payhub.kernel.services import admin
from payhub.cards.services import members as card_members
from payhub.cards.services import sms as card_sms
from tests.unit.fakes import PlainHasher

PHONE = "13812345678"
CODE = "482913"
SETTINGS = AliyunSmsSettings(
    endpoint="http://sms.test", access_key_id=DEMO_ACCESS_KEY_ID, access_key_secret=SecretStr(DEMO_ACCESS_KEY_SECRET),
    sign_name=DEMO_SIGN_NAME, template_code=DEMO_TEMPLATE_CODE, timeout_seconds=0.3,
)

# The worked example of Alibaba Cloud's SMS signature documentation (AccessKey testId / testSecret).
PUBLISHED_PARAMS = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123", "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
}
PUBLISHED_QUERY = (
    "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou"
    "&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8"
    "&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0"
    "&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z"
    "&Version=2017-05-25"
)


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[SandboxSms, httpx.AsyncClient]]:
    """The SMS sandbox with its demo account, reached over HTTP (in-process ASGI)."""
    box = SandboxSms(slow_seconds=2.0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=box.app), base_url="http://sms.test") as http:
        yield box, http


def client(http: httpx.AsyncClient, **changes: object) -> AliyunSms:
    """The connector with the demo account, or with some settings changed."""
    return AliyunSms(settings=SETTINGS.model_copy(update=changes), http=http)


def test_signature_matches_the_published_worked_example() -> None:
    assert wire.canonical_query(PUBLISHED_PARAMS) == PUBLISHED_QUERY
    assert wire.string_to_sign(method="GET", params=PUBLISHED_PARAMS) == "GET&%2F&" + wire.percent_encode(PUBLISHED_QUERY)
    assert wire.signature(secret="testSecret", method="GET", params=PUBLISHED_PARAMS) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_percent_encoding_keeps_only_unreserved_characters() -> None:
    assert wire.percent_encode("a b*c~d-e_f.g/h+i=") == "a%20b%2Ac~d-e_f.g%2Fh%2Bi%3D"
    assert wire.percent_encode("短信") == "%E7%9F%AD%E4%BF%A1"


def test_a_signature_over_other_parameters_or_with_another_secret_does_not_match() -> None:
    signed = PUBLISHED_PARAMS | {"Signature": "zJDF+Lrzhj/ThnlvIToysFRq6t4="}

    assert wire.signature_matches(secret="testSecret", method="GET", params=signed)
    assert not wire.signature_matches(secret="testSecret", method="POST", params=signed)
    assert not wire.signature_matches(secret="otherSecret", method="GET", params=signed)
    assert not wire.signature_matches(secret="testSecret", method="GET", params=signed | {"PhoneNumbers": "15300000002"})


async def test_code_reaches_the_phone_through_the_vendor_protocol(sandbox) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox

    await client(http).send_code(phone=PHONE, code=CODE)

    assert box.last_to(PHONE) == f"【{DEMO_SIGN_NAME}】验证码{CODE}，5分钟内有效，请勿告诉他人。"
    assert box.messages[-1]["biz_id"]


async def test_phone_and_code_travel_in_the_body_not_the_url(sandbox) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox
    seen: list[httpx.Request] = []

    async def keep(request: httpx.Request) -> None:
        seen.append(request)

    http.event_hooks = {"request": [keep]}

    await client(http).send_code(phone=PHONE, code=CODE)

    url = str(seen[0].url)
    assert seen[0].method == "POST" and "Signature=" in url and PHONE not in url and CODE not in url


@pytest.mark.parametrize(("phone", "reason", "vendor_code"), [
    ("13812349991", SmsRefusal.RATE_LIMITED, "isv.BUSINESS_LIMIT_CONTROL"),
    ("13812349992", SmsRefusal.BAD_NUMBER, "isv.MOBILE_NUMBER_ILLEGAL"),
    ("13812349993", SmsRefusal.OTHER, "isv.AMOUNT_NOT_ENOUGH"),
])
async def test_scenario_numbers_are_refused_with_the_reason(sandbox, phone, reason, vendor_code) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox

    with pytest.raises(SmsRefused) as refused:
        await client(http).send_code(phone=phone, code=CODE)

    assert (refused.value.reason, refused.value.vendor_code) == (reason, vendor_code)
    assert box.messages == []


async def test_slow_answer_is_unknown_not_refused_and_the_message_may_still_arrive(sandbox) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox

    with pytest.raises(SmsUnavailable) as unknown:
        await client(http).send_code(phone="13812349994", code=CODE)

    assert not isinstance(unknown.value, SmsRefused)
    assert re.search(r"验证码(\d{6})", box.last_to("13812349994")).group(1) == CODE  # type: ignore[union-attr]


async def test_provider_system_error_is_unavailable_not_refused(sandbox) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox

    with pytest.raises(SmsUnavailable) as unavailable:
        await client(http).send_code(phone="13812349995", code=CODE)

    assert not isinstance(unavailable.value, SmsRefused)
    assert "isp.SYSTEM_ERROR" in str(unavailable.value) and box.messages == []


async def test_wrong_secret_is_refused_by_the_sandbox(sandbox) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox

    with pytest.raises(SmsRefused) as refused:
        await client(http, access_key_secret=SecretStr("not-the-secret")).send_code(phone=PHONE, code=CODE)

    assert (refused.value.reason, refused.value.vendor_code) == (SmsRefusal.OTHER, "SignatureDoesNotMatch")
    assert box.messages == []


@pytest.mark.parametrize(("changes", "vendor_code"), [
    ({"access_key_id": "LTAI-unknown"}, "InvalidAccessKeyId.NotFound"),
    ({"sign_name": "别人的签名"}, "isv.SMS_SIGNATURE_ILLEGAL"),
    ({"template_code": "SMS_000000000"}, "isv.SMS_TEMPLATE_ILLEGAL"),
    ({"template_param": "captcha"}, "isv.TEMPLATE_MISSING_PARAMETERS"),
])
async def test_account_sign_name_and_template_must_be_the_registered_ones(sandbox, changes, vendor_code) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox

    with pytest.raises(SmsRefused) as refused:
        await client(http, **changes).send_code(phone=PHONE, code=CODE)

    assert (refused.value.reason, refused.value.vendor_code) == (SmsRefusal.OTHER, vendor_code)
    assert box.messages == []


async def test_clock_far_off_is_refused(sandbox) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox
    late = AliyunSms(settings=SETTINGS, http=http, now=lambda: datetime.now(UTC) - timedelta(minutes=20))

    with pytest.raises(SmsRefused) as refused:
        await late.send_code(phone=PHONE, code=CODE)

    assert refused.value.vendor_code == "InvalidTimeStamp.Expired" and box.messages == []


def signed_request(*, phone: str = PHONE, code: str = CODE) -> wire.SendSmsRequest:
    """A SendSms request signed with the demo account now."""
    return wire.send_sms_request(
        access_key_id=DEMO_ACCESS_KEY_ID, secret=DEMO_ACCESS_KEY_SECRET, region_id="cn-hangzhou",
        sign_name=DEMO_SIGN_NAME, template_code=DEMO_TEMPLATE_CODE, template_param="code", phone=phone, code=code,
        at=datetime.now(UTC), nonce="nonce-0001",
    )


async def test_replayed_request_is_refused(sandbox) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox
    request = signed_request()

    first = await http.post("/", params=request.query, data=request.form)
    again = await http.post("/", params=request.query, data=request.form)

    assert first.json()["Code"] == "OK"
    assert (again.status_code, again.json()["Code"]) == (400, "SignatureNonceUsed")
    assert len(box.messages) == 1


async def test_request_changed_after_signing_is_refused(sandbox) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox
    request = signed_request()

    answer = await http.post("/", params=request.query, data=request.form | {"PhoneNumbers": "13900000000"})

    assert (answer.status_code, answer.json()["Code"]) == (400, "SignatureDoesNotMatch")
    assert box.messages == []


async def test_get_request_with_the_same_signature_rules_is_answered(sandbox) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox
    request = signed_request()
    params = {key: value for key, value in (request.query | request.form).items() if key != "Signature"}
    params["Signature"] = wire.signature(secret=DEMO_ACCESS_KEY_SECRET, method="GET", params=params)

    answer = await http.get("/", params=params)

    assert answer.json()["Code"] == "OK" and box.last_to(PHONE).startswith(f"【{DEMO_SIGN_NAME}】验证码{CODE}")


async def test_unreachable_provider_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(SmsUnavailable) as unavailable:
            await client(http).send_code(phone=PHONE, code=CODE)

    assert not isinstance(unavailable.value, SmsRefused)


async def test_logs_never_show_the_whole_phone_number_or_the_code(sandbox, caplog) -> None:  # type: ignore[no-untyped-def]
    _, http = sandbox
    caplog.set_level(logging.DEBUG)

    await client(http).send_code(phone=PHONE, code=CODE)
    with pytest.raises(SmsRefused):
        await client(http).send_code(phone="13812349991", code=CODE)

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "138****5678" in text and "138****9991" in text
    assert PHONE not in text and "13812349991" not in text and CODE not in text
    assert DEMO_ACCESS_KEY_SECRET not in text


def test_a_configured_vendor_needs_its_secret_sign_name_and_template() -> None:
    with pytest.raises(ValidationError):
        AliyunSmsSettings(access_key_id="LTAI-x", sign_name="交易宝", template_code="SMS_1")
    with pytest.raises(ValidationError) as no_sign_name:
        AliyunSmsSettings.model_validate({"access_key_id": "LTAI-x", "access_key_secret": "very-secret-value",
                                          "template_code": "SMS_1"})
    assert "very-secret-value" not in str(no_sign_name.value)
    assert not AliyunSmsSettings().configured and SETTINGS.configured
    assert DEMO_ACCESS_KEY_SECRET not in repr(SETTINGS)


async def test_bootstrap_picks_the_vendor_when_configured_and_the_sandbox_in_demo_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path}/hub.sqlite3"
    production = build(Settings(database_url=url, secret_key="s" * 32, tcis={"secret": "t" * 16}, sms=SETTINGS))
    bare = build(Settings(database_url=url, secret_key="s" * 32, tcis={"secret": "t" * 16}))
    demo = build(Settings(demo=True, database_url=url))
    try:
        assert isinstance(production.hub.sms, AliyunSms)
        assert bare.hub.sms is None
        assert isinstance(demo.hub.sms, SandboxSms)
    finally:
        for container in (production, bare, demo):
            await container.close()


async def test_member_registers_with_a_code_sent_through_the_vendor_protocol(db_url: str, sandbox) -> None:  # type: ignore[no-untyped-def]
    box, http = sandbox
    container = build(Settings(demo=True, database_url=db_url, sms=SETTINGS), clock=ManualClock(datetime.now(UTC)),
                      sms_http=http)
    hub = dataclasses.replace(container.hub, passwords=PlainHasher())
    try:
        issuer = await admin.create_merchant(hub=hub, code="ISSUER", name="发卡商户")
        await card_sms.send_code(hub=hub, merchant_id=issuer.id, phone=PHONE, purpose="register")
        code = re.search(r"验证码(\d{6})", box.last_to(PHONE)).group(1)  # type: ignore[union-attr]

        member = await card_members.register(hub=hub, merchant_id=issuer.id, phone=PHONE, name="王五", sms_code=code,
                                             pay_password="246810")

        assert member["phone"] == PHONE and member["account_no"]
    finally:
        await container.close()
