"""An amount in Chinese capital numerals (大写金额), as cheques and receipts write it."""
from __future__ import annotations

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_GROUP_UNITS = ("", "万", "亿", "万亿")


def _group(number: int) -> str:
    """0 < number < 10000 in capitals, with 零 for the gaps inside it (1001 -> 壹仟零壹)."""
    text, zero = "", False
    for power in range(3, -1, -1):
        digit = number // 10**power % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += DIGITS[0]
            zero = False
        text += DIGITS[digit] + _SMALL_UNITS[power]
    return text


def _whole(number: int) -> str:
    """The yuan part in capitals; 零 where a group or its start is empty between two non-empty parts."""
    groups = []
    while number:
        number, group = divmod(number, 10_000)
        groups.append(group)
    text = ""
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        if text and (group < 1000 or groups[index + 1] == 0):
            text += DIGITS[0]
        text += _group(group) + _GROUP_UNITS[index]
    return text


def capitals(fen: int) -> str:
    """Fen in capitals, e.g. 12345 -> 壹佰贰拾叁元肆角伍分, 1005 -> 壹拾元零伍分, 100100 -> 壹仟零壹元整, 50 -> 伍角整."""
    if fen < 0:
        return "负" + capitals(-fen)
    whole, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    text = _whole(whole) + "元" if whole else ""
    if not cents:
        return (text or "零元") + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif text:
        text += DIGITS[0]
    return text + (DIGITS[fen_digit] + "分" if fen_digit else "整")  # an amount ending in 角 is closed with 整 too
