"""Validation problems in the caller's language: Chinese phrases by pydantic error type, English as pydantic says it."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

INTEGER = "须为整数"
DATE = "须为日期（YYYY-MM-DD）"
DATETIME = "须为时间（ISO 8601）"
OBJECT = "须为JSON对象"
ZH_PROBLEMS = {
    "missing": "缺少必填项",
    "extra_forbidden": "不允许的字段",
    "int_type": INTEGER, "int_parsing": INTEGER, "int_from_float": INTEGER, "int_parsing_size": INTEGER,
    "float_type": "须为数字", "float_parsing": "须为数字", "decimal_parsing": "须为数字",
    "bool_type": "须为true或false", "bool_parsing": "须为true或false",
    "string_type": "须为文字",
    "string_unicode": "须为有效的Unicode文字",
    "string_too_short": "至少{min_length}个字符",
    "string_too_long": "最多{max_length}个字符",
    "string_pattern_mismatch": "格式不正确",
    "list_type": "须为列表",
    "too_short": "至少{min_length}项",
    "too_long": "最多{max_length}项",
    "dict_type": OBJECT, "model_type": OBJECT, "model_attributes_type": OBJECT,
    "literal_error": "须为以下之一：{expected}",
    "enum": "须为以下之一：{expected}",
    "greater_than": "须大于{gt}",
    "greater_than_equal": "须不小于{ge}",
    "less_than": "须小于{lt}",
    "less_than_equal": "须不大于{le}",
    "date_type": DATE, "date_parsing": DATE, "date_from_datetime_parsing": DATE, "date_from_datetime_inexact": DATE,
    "datetime_type": DATETIME, "datetime_parsing": DATETIME, "datetime_from_date_parsing": DATETIME,
    "timezone_aware": "须带时区",
    "json_invalid": "不是有效的JSON",
    "json_type": "不是有效的JSON",
}
ZH_OTHERWISE = "取值无效"
HIDDEN_LOCATIONS = ("body", "query", "path", "header")


def _zh(problem: Mapping[str, Any]) -> str:
    context = {key: str(value).replace(" or ", ", ") for key, value in (problem.get("ctx") or {}).items()}
    try:
        return ZH_PROBLEMS.get(problem.get("type", ""), ZH_OTHERWISE).format(**context)
    except (KeyError, IndexError):
        return ZH_OTHERWISE


def describe_problems(problems: Iterable[Mapping[str, Any]], locale: str) -> str:
    """Each problem as `field：phrase` (zh) or `field: message` (en), joined, at most 500 characters."""
    colon, joiner = (": ", "; ") if locale == "en" else ("：", "；")
    parts = []
    for problem in problems:
        where = ".".join(str(p) for p in problem.get("loc", ()) if p not in HIDDEN_LOCATIONS)
        what = str(problem.get("msg", "")) if locale == "en" else _zh(problem)
        parts.append(f"{where}{colon}{what}" if where else what)
    return joiner.join(parts)[:500]
