"""The SwiftPass gateway protocol: XML bodies, signatures, times and the map of wire codes to the hub's words.

Both the connector (client.py) and the simulator (sandbox/) use this module, so the two cannot drift apart.
Which side signs with which key is carried by `Credentials`: the merchant signs requests with its MD5 key or
RSA private key and verifies answers with the platform's public key; the platform does the mirror image.
"""
from __future__ import annotations

import base64
import codecs
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeXml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from defusedxml import DefusedXmlException
from zoneinfo import ZoneInfo

from payhub.kernel.domain.payments import PayStatus, RefundStatus

GATEWAY_PATH = "/pay/gateway"
VERSION = "2.0"
CHARSET = "UTF-8"
OK = "0"  # `status` (the call was understood) and `result_code` (business success) both use "0"
CHINA = ZoneInfo("Asia/Shanghai")

SignType = Literal["MD5", "RSA_1_256", "RSA_1_1"]

SERVICE_MICROPAY = "unified.trade.micropay"
SERVICE_NATIVE = "unified.trade.native"
SERVICE_QUERY = "unified.trade.query"
SERVICE_REFUND = "unified.trade.refund"
SERVICE_REFUND_QUERY = "unified.trade.refundquery"
SERVICE_CLOSE = "unified.trade.close"
SERVICE_REVERSE = "unified.micropay.reverse"
SERVICE_BILL = "pay.bill.merchant"

# err_code values both sides agree on
USERPAYING = "USERPAYING"
SYSTEMERROR = "SYSTEMERROR"
BANKERROR = "BANKERROR"
ORDERNOTEXIST = "ORDERNOTEXIST"
REFUNDNOTEXIST = "REFUNDNOTEXIST"
ORDERPAID = "ORDERPAID"
NOT_FOUND_CODES = frozenset({ORDERNOTEXIST, REFUNDNOTEXIST})

TRADE_STATES: Mapping[str, PayStatus] = {
    "SUCCESS": PayStatus.PAID,
    "REFUND": PayStatus.PAID,  # paid, then refunded in part or in full: the payment itself stands
    "NOTPAY": PayStatus.PENDING,
    "USERPAYING": PayStatus.PENDING,
    "PAYERROR": PayStatus.FAILED,
    "CLOSED": PayStatus.CLOSED,
    "REVERSE": PayStatus.CLOSED,
    "REVOKED": PayStatus.CLOSED,
}

REFUND_STATES: Mapping[str, RefundStatus] = {
    "SUCCESS": RefundStatus.SUCCESS,
    "FAIL": RefundStatus.FAILED,
    "PROCESSING": RefundStatus.PROCESSING,
    "NOTSURE": RefundStatus.UNKNOWN,
    "CHANGE": RefundStatus.CHANGE,
}

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DECLARATION = re.compile(rb"\A\s*<\?xml\b[^>]*?\?>")
_DECLARED_ENCODING = re.compile(rb"""\bencoding\s*=\s*["']([^"']*)["']""")
_NATIONAL_ENCODINGS = frozenset({"gb18030", "gbk", "gb2312"})  # Chinese systems may use them; expat reads none


class WireError(ValueError):
    """A body that is not a well-formed flat SwiftPass message."""


def encode_xml(*, fields: Mapping[str, str]) -> bytes:
    """The fields as `<xml><k><![CDATA[v]]></k>…</xml>` in UTF-8."""
    parts = ["<xml>"]
    for name, value in fields.items():
        if not _FIELD_NAME.fullmatch(name):
            raise WireError(f"bad field name {name!r}")
        # a literal "]]>" would end the section early: split it across two sections
        safe = value.replace("]]>", "]]]]><![CDATA[>")
        parts.append(f"<{name}><![CDATA[{safe}]]></{name}>")
    parts.append("</xml>")
    return "".join(parts).encode("utf-8")


def decode_xml(*, body: bytes) -> dict[str, str]:
    """The fields of a flat `<xml>` message; refuses DTDs, entities, nesting, attributes and repeats."""
    try:
        root = SafeXml.fromstring(_as_utf8(body=body), forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError) as error:
        # ValueError/LookupError: an encoding expat cannot read or Python does not know
        raise WireError(f"unreadable XML: {error}") from error
    if root.tag != "xml" or root.attrib:
        raise WireError("the root must be a bare <xml> element")
    fields: dict[str, str] = {}
    for child in root:
        if len(child) or child.attrib:
            raise WireError(f"field {child.tag!r} is not flat")
        if child.tag in fields:
            raise WireError(f"field {child.tag!r} repeats")
        fields[child.tag] = child.text or ""
    return fields


def _as_utf8(*, body: bytes) -> bytes:
    """The body itself, or re-encoded as UTF-8 (declaration dropped) when it declares GB18030, GBK or GB2312."""
    declaration = _DECLARATION.match(body)
    declared = _DECLARED_ENCODING.search(declaration.group()) if declaration else None
    if declaration is None or declared is None:
        return body
    try:
        codec = codecs.lookup(declared.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        raise WireError("the XML declares an unknown encoding") from None
    if codec not in _NATIONAL_ENCODINGS:
        return body
    try:
        return body[declaration.end():].decode(codec).encode("utf-8")
    except UnicodeDecodeError as error:
        raise WireError(f"the XML is not valid {codec}") from error


def sign_string(*, fields: Mapping[str, str]) -> str:
    """The signed text: every non-empty field except `sign`, ASCII-sorted by name, as `k=v&…`."""
    return "&".join(f"{name}={value}" for name, value in sorted(fields.items()) if name != "sign" and value != "")


@dataclass(frozen=True, slots=True)
class Credentials:
    """One side's keys: its own to sign what it sends, the peer's to verify what it receives."""

    sign_type: SignType
    md5_key: str | None = None
    own_private_key_pem: str | None = None
    peer_public_key_pem: str | None = None

    def sign(self, *, fields: Mapping[str, str]) -> str:
        """The signature of the fields with this side's key."""
        text = sign_string(fields=fields)
        if self.sign_type == "MD5":
            return _md5_sign(text=text, key=_required(self.md5_key, "md5_key"))
        private_key = _private_key(pem=_required(self.own_private_key_pem, "own_private_key_pem"))
        signature = private_key.sign(text.encode("utf-8"), padding.PKCS1v15(), _rsa_hash(self.sign_type))
        return base64.b64encode(signature).decode("ascii")

    def verify(self, *, fields: Mapping[str, str]) -> bool:
        """Whether the fields carry the peer's valid signature."""
        given = fields.get("sign", "")
        if not given:
            return False
        text = sign_string(fields=fields)
        if self.sign_type == "MD5":
            expected = _md5_sign(text=text, key=_required(self.md5_key, "md5_key"))
            # bytes: compare_digest refuses non-ASCII text, and a forged signature may be anything
            return hmac.compare_digest(expected.encode("ascii"), given.upper().encode("utf-8"))
        public_key = _public_key(pem=_required(self.peer_public_key_pem, "peer_public_key_pem"))
        try:
            signature = base64.b64decode(given, validate=True)
            public_key.verify(signature, text.encode("utf-8"), padding.PKCS1v15(), _rsa_hash(self.sign_type))
        except (ValueError, InvalidSignature):
            return False
        return True

    def seal(self, *, fields: Mapping[str, str]) -> dict[str, str]:
        """The fields with `sign_type` and `sign` added."""
        sealed = {**fields, "sign_type": self.sign_type}
        sealed["sign"] = self.sign(fields=sealed)
        return sealed


def new_nonce() -> str:
    """A fresh random nonce_str (32 hex characters, the protocol's maximum)."""
    return secrets.token_hex(16)


def format_time(*, moment: datetime) -> str:
    """An aware time as the protocol's yyyyMMddHHmmss in China time."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place on the wire")
    return moment.astimezone(CHINA).strftime("%Y%m%d%H%M%S")


def parse_time(*, text: str) -> datetime:
    """The protocol's yyyyMMddHHmmss China time as an aware UTC datetime."""
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=CHINA).astimezone(UTC)


def parse_fen(*, text: str | None) -> int | None:
    """A wire amount in fen, or None when it is absent or not a whole number."""
    if text is None or not text.isdigit():
        return None
    return int(text)


def _required(value: str | None, what: str) -> str:
    if not value:
        raise ValueError(f"credentials lack {what}")
    return value


def _md5_sign(*, text: str, key: str) -> str:
    return hashlib.md5(f"{text}&key={key}".encode()).hexdigest().upper()


def _rsa_hash(sign_type: SignType) -> hashes.HashAlgorithm:
    return hashes.SHA1() if sign_type == "RSA_1_1" else hashes.SHA256()


@lru_cache(maxsize=64)
def _private_key(*, pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the private key is not an RSA key")
    return key


@lru_cache(maxsize=64)
def _public_key(*, pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the public key is not an RSA key")
    return key
