"""Every fixed reason the hub writes into an order's or refund's history has an English text."""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from payhub.kernel.domain.messages import REASONS, reason_name

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "payhub"
CJK = re.compile(r"[\u4e00-\u9fff]")


def literals(node: ast.AST) -> Iterator[str]:
    """The whole string literals of an expression; an f-string's parts are a variable reason and not counted."""
    if isinstance(node, ast.JoinedStr):
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    for child in ast.iter_child_nodes(node):
        yield from literals(child)


def fixed_reasons() -> set[str]:
    found = set()
    for source in [*(PACKAGE / "kernel").rglob("*.py"), *(PACKAGE / "counter").rglob("*.py")]:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "reason":
                found |= {text for text in literals(node.value) if CJK.search(text)}
    return found


def test_every_fixed_reason_has_an_english_text() -> None:
    reasons = fixed_reasons()
    assert {"扫付款码", "支付渠道确认已支付", "已交付", "柜台取消"} <= reasons  # the scan sees them
    # a payment tried again after a refused one says so (orders.py adds the suffix)
    reasons |= {f"{method}，重试" for method in ("扫付款码", "收款二维码")}
    missing = sorted(reason for reason in reasons if reason_name(reason, "en") == reason)
    assert not missing, f"no English for these history reasons in messages.REASONS: {missing}"
    assert not any(CJK.search(english) for english in REASONS.values())


def test_chinese_stays_and_reasons_with_outside_words_stay_as_written() -> None:
    assert reason_name("已交付", "zh") == "已交付"
    assert reason_name("已交付", "en") == "Fulfilled"
    assert reason_name("FAIL: 户号不存在", "en") == "FAIL: 户号不存在"
