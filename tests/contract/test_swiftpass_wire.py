"""SwiftPass wire: XML, signatures and times, checked against published examples and hostile input."""
from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from payhub.integrations.swiftpass.client import SwiftPassChannel
from payhub.integrations.swiftpass.wire import (
    Credentials, WireError, decode_xml, encode_xml, format_time, parse_time, sign_string,
)
from payhub.config import SwiftPassAccount, SwiftPassSettings
from payhub.kernel.domain.payments import PayStatus
from payhub.kernel.ports import SignatureInvalid

from .conftest import MCH_ID, MD5_KEY, MERCHANT, NOTIFY_URL, SwiftPassRig, rsa_pem_pair, swiftpass_accounts

# WeChat Pay v2's signing guide ("签名算法", 举例): these fields and this key give this MD5 sign.
WECHAT_EXAMPLE = {
    "appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000", "body": "test",
    "nonce_str": "ibuaiVcKdpRxkhJA",
}
WECHAT_EXAMPLE_KEY = "192006250b4c09247ec02edce69f6a2d"
WECHAT_EXAMPLE_SIGN = "9A0A8659F005D6984697E2CA0A9CF3B7"


def test_md5_sign_matches_wechat_pay_published_example() -> None:
    credentials = Credentials(sign_type="MD5", md5_key=WECHAT_EXAMPLE_KEY)

    assert sign_string(fields=WECHAT_EXAMPLE) == (
        "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA")
    assert credentials.sign(fields=WECHAT_EXAMPLE) == WECHAT_EXAMPLE_SIGN


def test_md5_verify_ignores_case_but_not_content() -> None:
    credentials = Credentials(sign_type="MD5", md5_key=WECHAT_EXAMPLE_KEY)

    assert credentials.verify(fields={**WECHAT_EXAMPLE, "sign": WECHAT_EXAMPLE_SIGN.lower()})
    assert not credentials.verify(fields={**WECHAT_EXAMPLE, "body": "test2", "sign": WECHAT_EXAMPLE_SIGN})
    assert not credentials.verify(fields=WECHAT_EXAMPLE)


def test_sign_string_skips_empty_values_and_the_sign_itself() -> None:
    assert sign_string(fields={"b": "2", "a": "1", "empty": "", "sign": "X", "B": "3"}) == "B=3&a=1&b=2"


@pytest.mark.parametrize("sign_type", ["RSA_1_256", "RSA_1_1"])
def test_rsa_signature_round_trip_and_tamper(sign_type: str) -> None:
    private, public = rsa_pem_pair("merchant")
    signer = Credentials(sign_type=sign_type, own_private_key_pem=private)
    verifier = Credentials(sign_type=sign_type, peer_public_key_pem=public)

    sealed = signer.seal(fields={"service": "unified.trade.query", "out_trade_no": "T1", "body": "电费"})

    assert sealed["sign_type"] == sign_type
    assert verifier.verify(fields=sealed)
    assert not verifier.verify(fields={**sealed, "out_trade_no": "T2"})
    assert not verifier.verify(fields={**sealed, "sign": "not base64!"})


def test_rsa_sha1_and_sha256_signatures_differ() -> None:
    private, public = rsa_pem_pair("merchant")
    fields = {"service": "unified.trade.query", "sign_type": "RSA_1_256"}
    sha256 = Credentials(sign_type="RSA_1_256", own_private_key_pem=private).sign(fields=fields)

    assert not Credentials(sign_type="RSA_1_1", peer_public_key_pem=public).verify(fields={**fields, "sign": sha256})


def test_xml_round_trip_keeps_chinese_and_cdata_breakers() -> None:
    fields = {"body": "水费 <第一期> & 电费", "attach": "a]]>b", "total_fee": "1200"}

    body = encode_xml(fields=fields)

    assert body.startswith(b"<xml><body><![CDATA[")
    assert decode_xml(body=body) == fields


def test_decode_reads_plain_text_elements() -> None:
    assert decode_xml(body="<xml><status>0</status><message>成功</message></xml>".encode()) == {
        "status": "0", "message": "成功"}


@pytest.mark.parametrize("body", [
    b'<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><xml><x>&b;</x></xml>',
    b'<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><x>&e;</x></xml>',
    b"<xml><x><y>1</y></x></xml>",
    b'<xml><x a="1">1</x></xml>',
    b"<xml><x>1</x><x>2</x></xml>",
    b"<root><x>1</x></root>",
    b"<xml><x>1</x>",
])
def test_hostile_or_malformed_xml_is_refused(body: bytes) -> None:
    with pytest.raises(WireError):
        decode_xml(body=body)


def test_times_are_china_time_on_the_wire() -> None:
    moment = datetime(2024, 5, 20, 16, 30, 5, tzinfo=UTC)

    assert format_time(moment=moment) == "20240521003005"
    assert parse_time(text="20240521003005") == moment
    with pytest.raises(ValueError):
        format_time(moment=datetime(2024, 5, 20))


async def test_tampered_answer_is_unknown() -> None:
    """A 'paid' answer whose amount was changed after signing must not be believed."""
    hub_account, sandbox_account = swiftpass_accounts(sign_type="MD5")
    sealed = sandbox_account.credentials().seal(fields={
        "version": "2.0", "status": "0", "result_code": "0", "pay_result": "0", "mch_id": MCH_ID,
        "out_trade_no": "T1", "transaction_id": "SP1", "total_fee": "1200", "time_end": "20240520100000",
    })
    tampered = encode_xml(fields={**sealed, "total_fee": "1"})
    answered = httpx.MockTransport(lambda request: httpx.Response(200, content=tampered))
    async with httpx.AsyncClient(transport=answered) as http:
        channel = SwiftPassChannel(settings=SwiftPassSettings(accounts={MERCHANT: hub_account}), http=http)
        genuine = sandbox_account.credentials().verify(fields=sealed)

        result = await channel.micropay(merchant=MERCHANT, out_trade_no="T1", total_fee=1200, body="x",
                                        auth_code="134567890123456700", client_ip="10.0.0.8")

    assert genuine
    assert result.status is PayStatus.UNKNOWN


async def test_tampered_notify_is_refused(swiftpass: SwiftPassRig) -> None:
    qr = await swiftpass.channel.native(merchant=MERCHANT, out_trade_no="T-notify", total_fee=1200, body="水费",
                                        notify_url=NOTIFY_URL, client_ip="10.0.0.8")
    swiftpass.sandbox.pay_native(qr.out_trade_no)
    await swiftpass.sandbox.deliver_due_notifies()
    genuine = swiftpass.inbox.bodies[0]

    assert swiftpass.channel.parse_notify(body=genuine, merchant=MERCHANT).status is PayStatus.PAID
    with pytest.raises(SignatureInvalid):
        swiftpass.channel.parse_notify(body=genuine.replace(b"1200", b"1"), merchant=MERCHANT)


def test_notify_from_an_unknown_merchant_is_refused(swiftpass: SwiftPassRig) -> None:
    stranger = Credentials(sign_type="MD5", md5_key=MD5_KEY).seal(fields={
        "status": "0", "result_code": "0", "pay_result": "0", "mch_id": "999", "out_trade_no": "T1"})

    with pytest.raises(SignatureInvalid):
        swiftpass.channel.parse_notify(body=encode_xml(fields=stranger), merchant=MERCHANT)


def test_notify_with_hostile_xml_is_refused(swiftpass: SwiftPassRig) -> None:
    with pytest.raises(SignatureInvalid):
        swiftpass.channel.parse_notify(body=b'<!DOCTYPE xml [<!ENTITY a "x">]><xml><a>&a;</a></xml>', merchant=MERCHANT)


def _two_merchant_channel() -> SwiftPassChannel:
    other = SwiftPassAccount(mch_id="755437000077", key="another-merchants-key")
    hub_account, _ = swiftpass_accounts(sign_type="MD5")
    settings = SwiftPassSettings(accounts={MERCHANT: hub_account, "shop-2": other})
    return SwiftPassChannel(settings=settings, http=httpx.AsyncClient())


def _paid_notify(*, mch_id: str, key: str) -> bytes:
    return encode_xml(fields=Credentials(sign_type="MD5", md5_key=key).seal(fields={
        "status": "0", "result_code": "0", "pay_result": "0", "mch_id": mch_id, "out_trade_no": "T1",
        "total_fee": "1510"}))


def test_notify_is_verified_only_with_the_named_merchants_own_account() -> None:
    channel = _two_merchant_channel()
    by_other = _paid_notify(mch_id="755437000077", key="another-merchants-key")

    assert channel.notify_trade_no(body=by_other) == "T1"
    assert channel.parse_notify(body=by_other, merchant="shop-2").status is PayStatus.PAID
    with pytest.raises(SignatureInvalid):
        channel.parse_notify(body=by_other, merchant=MERCHANT)
    with pytest.raises(SignatureInvalid):
        channel.parse_notify(body=_paid_notify(mch_id=MCH_ID, key="another-merchants-key"), merchant=MERCHANT)
    with pytest.raises(SignatureInvalid):
        channel.parse_notify(body=by_other, merchant="no-such-merchant")


def test_notify_naming_no_order_is_refused_before_any_lookup() -> None:
    with pytest.raises(SignatureInvalid):
        _two_merchant_channel().notify_trade_no(body=b"<xml><status>0</status></xml>")


@pytest.mark.parametrize("out_trade_no", ["T" * 33, "PH1\nforged log line", "../PH1", "PH 1"])
def test_notify_naming_a_malformed_order_no_is_refused_before_any_lookup(out_trade_no: str) -> None:
    body = encode_xml(fields={"status": "0", "mch_id": MCH_ID, "out_trade_no": out_trade_no})
    with pytest.raises(SignatureInvalid):
        _two_merchant_channel().notify_trade_no(body=body)


def test_md5_verify_refuses_a_non_ascii_signature() -> None:
    fields = {"mch_id": MCH_ID, "out_trade_no": "T1", "sign": "签名"}

    assert not Credentials(sign_type="MD5", md5_key=MD5_KEY).verify(fields=fields)


@pytest.mark.parametrize("encoding", ["GB18030", "gbk", "GB2312"])
def test_decode_reads_chinese_national_encodings(encoding: str) -> None:
    body = f'<?xml version="1.0" encoding="{encoding}"?><xml><body>燃气费</body></xml>'.encode(encoding)

    assert decode_xml(body=body) == {"body": "燃气费"}


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0" encoding="GB18030"?><xml><x>\x81\x20</x></xml>',
    b'<?xml version="1.0" encoding="x-unheard-of"?><xml><x>1</x></xml>',
    '<?xml version="1.0" encoding="Big5"?><xml><x>燃</x></xml>'.encode("big5"),
])
def test_decode_refuses_encodings_it_cannot_read(body: bytes) -> None:
    with pytest.raises(WireError):
        decode_xml(body=body)
