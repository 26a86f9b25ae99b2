"""Every error code the source raises has a Chinese and an English message whose parameters the raise supplies."""
from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass
from pathlib import Path

import pytest

import payhub
from payhub.kernel.domain.errors import Conflict, PayhubError
from payhub.kernel.domain.messages import CATALOG, STATE_NAMES, render, state_name

ERRORS = {"PayhubError", "InvalidInput", "Unauthorized", "Forbidden", "NotFound", "Conflict", "Unavailable"}
SOURCE = Path(payhub.__file__).parent
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Raise:
    code: str
    params: frozenset[str] | None  # None: passed as **mapping, not checkable
    where: str


def _params(call: ast.Call) -> frozenset[str] | None:
    if any(keyword.arg is None for keyword in call.keywords):
        return None
    return frozenset(keyword.arg for keyword in call.keywords)


def _is_error_class(node: ast.ClassDef) -> bool:
    return any(isinstance(base, ast.Name) and base.id in ERRORS for base in node.bases)


def _code_of(call: ast.Call, *, in_error_class: bool) -> str | None:
    """The literal code if call builds an error: Conflict("X", ...) or super().__init__("X", ...) in an error class."""
    if not call.args or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str):
        return None
    func = call.func
    named = (isinstance(func, ast.Name) and func.id in ERRORS) or (isinstance(func, ast.Attribute) and func.attr in ERRORS)
    via_super = (in_error_class and isinstance(func, ast.Attribute) and func.attr == "__init__"
                 and isinstance(func.value, ast.Call) and getattr(func.value.func, "id", None) == "super")
    return call.args[0].value if named or via_super else None


def raises_in_source() -> list[Raise]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        error_classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and _is_error_class(node)]
        inside = {id(n) for cls in error_classes for n in ast.walk(cls)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                code = _code_of(node, in_error_class=id(node) in inside)
                if code is not None:
                    found.append(Raise(code, _params(node), f"{path.relative_to(SOURCE)}:{node.lineno}"))
    return found


RAISES = raises_in_source()


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_the_scan_finds_the_codes_we_know_are_raised():
    codes = {r.code for r in RAISES}

    assert {"BAD_AMOUNT", "REFUND_EXCEEDS", "IDEMPOTENCY_CONFLICT", "ILLEGAL_TRANSITION", "STALE_STATE"} <= codes
    assert len(RAISES) > 40


@pytest.mark.parametrize("raised", RAISES, ids=lambda r: f"{r.code}@{r.where}")
def test_every_raised_code_has_both_messages_with_the_parameters_it_is_given(raised):
    assert raised.code in CATALOG, f"{raised.where}: {raised.code} has no message"
    zh, en = CATALOG[raised.code]
    assert CJK.search(zh), f"{raised.code}: the Chinese text has no Chinese"
    assert en.strip() and en.isascii(), f"{raised.code}: the English text is missing or not English"
    if raised.params is not None:
        missing = (placeholders(zh) | placeholders(en)) - raised.params
        assert not missing, f"{raised.where}: {raised.code} is raised without {missing}"


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_both_texts_of_a_code_take_the_same_parameters(code):
    zh, en = CATALOG[code]
    assert placeholders(zh) == placeholders(en)


def test_render_fills_the_parameters_in_each_locale():
    assert render("REFUND_EXCEEDS", "zh", {"refundable": 700}) == "退款金额超过可退金额700分"
    assert render("REFUND_EXCEEDS", "en", {"refundable": 700}) == "The refund exceeds the refundable 700 fen"


def test_render_falls_back_to_the_template_or_the_internal_message():
    assert render("REFUND_EXCEEDS", "en", {}) == CATALOG["REFUND_EXCEEDS"][1]
    assert render("NO_SUCH_CODE", "en", {}) == CATALOG["INTERNAL"][1]


def test_an_error_reads_as_its_chinese_message():
    assert str(Conflict("IDEMPOTENCY_CONFLICT", key="T-9")) == "重复的请求号T-9，但内容与首次请求不同"
    assert isinstance(Conflict("X"), PayhubError)


def test_every_state_has_a_name_for_people():
    from payhub.kernel.domain.orders import OrderState
    from payhub.kernel.domain.refunds import RefundState

    assert {str(s) for s in (*OrderState, *RefundState)} <= set(STATE_NAMES)
    assert state_name("paid", "en") == "Paid, fulfilment pending" and state_name("paid", "zh") == "已支付，待交付"
    assert state_name("paid", "zh", kind="biller_posting") == "已支付，待入账"
    assert state_name("fulfilled", "en", kind="biller_posting") == "Paid and posted"
