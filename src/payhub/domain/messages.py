"""Readable messages for every stable error code, Chinese first, English second."""
from __future__ import annotations

from typing import Any

LOCALES = ("zh", "en")

CATALOG: dict[str, tuple[str, str]] = {
    "INTERNAL": ("系统繁忙，请稍后重试", "The system is busy, please try again later"),
    "VALIDATION": ("请求内容有误：{detail}", "The request is not valid: {detail}"),
    "NOT_FOUND": ("请求的地址不存在", "No such address"),
    "METHOD_NOT_ALLOWED": ("不支持此请求方式", "This method is not allowed here"),
    "BAD_AMOUNT": ("金额无效：须为大于0的整数分，且不超过{max_fen}分", "Invalid amount: whole fen above 0, at most {max_fen}"),
    "AMOUNT_MISMATCH": ("金额与所选账单不符", "The amount does not match the chosen bills"),
    "AMOUNT_BELOW_DUE": ("该账户不允许预存，金额须等于欠费合计{due}元", "This account takes no prepayment: the amount must equal the total due of {due} yuan"),
    "NOTHING_DUE": ("该账户当前无欠费，且不允许预存", "Nothing is due on this account and prepayment is not allowed"),
    "UNKNOWN_FEE_TYPE": ("不支持的缴费类型：{fee_type}", "Unknown fee type: {fee_type}"),
    "ACCOUNT_REQUIRED": ("请填写户号", "Please enter the account number"),
    "NO_ARREARS_QUERY": ("其他费用无需查询欠费", "Other fees have no arrears to look up"),
    "UNKNOWN_ACCOUNT": ("户号不存在：{account_no}", "No such account: {account_no}"),
    "UNKNOWN_BILL": ("账单不存在：{bill_id}", "No such bill: {bill_id}"),
    "DUPLICATE_BILL": ("同一账单不能选择两次", "A bill was chosen twice"),
    "BAD_PAYMENT_CODE": ("付款码无效，请让顾客刷新后重新扫描", "Invalid payment code: ask the customer to refresh it and scan again"),
    "ORDER_NOT_FOUND": ("订单不存在：{order_no}", "No such order: {order_no}"),
    "ORDER_EXPIRED": ("订单已过期，请重新下单", "The order has expired, please place a new one"),
    "ORDER_NOT_PAYABLE": ("订单当前状态（{state}）不能支付", "The order cannot be paid in its current state ({state})"),
    "ORDER_NOT_CLOSABLE": ("订单当前状态（{state}）不能关闭", "The order cannot be closed in its current state ({state})"),
    "ORDER_NOT_REFUNDABLE": ("订单当前状态（{state}）不能退款", "The order cannot be refunded in its current state ({state})"),
    "REFUND_EXCEEDS": ("退款金额超过可退金额{refundable}分", "The refund exceeds the refundable {refundable} fen"),
    "REFUND_IN_PROGRESS": ("该订单有退款正在处理，请稍后", "A refund of this order is still in progress"),
    "PAYMENT_METHOD_MISMATCH": ("订单已使用其他支付方式", "The order is already being paid another way"),
    "IDEMPOTENCY_CONFLICT": ("重复的请求号{key}，但内容与首次请求不同", "Request number {key} was used before with different content"),
    "ILLEGAL_TRANSITION": ("{aggregate}状态{current}不能变为{target}", "{aggregate} cannot move from {current} to {target}"),
    "STALE_STATE": ("{aggregate} {key} 已被其他操作更新，请刷新", "{aggregate} {key} was changed meanwhile, please refresh"),
    "BAD_SIGNATURE": ("签名错误", "Bad signature"),
    "SIGNATURE_REQUIRED": ("缺少终端签名信息", "The terminal signature headers are missing"),
    "UNKNOWN_TERMINAL": ("终端未登记或已停用", "Unknown or disabled terminal"),
    "TIMESTAMP_SKEW": ("终端时间与服务器相差超过5分钟，请校准时间", "The terminal clock is more than 5 minutes off"),
    "REPLAYED_REQUEST": ("重复提交的请求已被拒绝", "A replayed request was refused"),
    "LOGIN_FAILED": ("用户名或密码错误", "Wrong user name or password"),
    "LOGIN_REQUIRED": ("请先登录", "Please log in first"),
    "SESSION_EXPIRED": ("登录已过期，请重新登录", "The session has expired, please log in again"),
    "ROLE_REQUIRED": ("此操作需要{role}权限", "This needs the {role} role"),
    "SUPERVISOR_REQUIRED": ("退款需要主管授权", "A refund needs a supervisor's approval"),
    "OPERATOR_NOT_AT_MERCHANT": ("操作员不属于本终端所在商户", "The operator does not belong to this terminal's merchant"),
    "CHANNEL_UNAVAILABLE": ("支付渠道暂时无法连接，请稍后重试", "The payment channel cannot be reached, please retry"),
    "CHANNEL_REFUSED": ("支付渠道拒绝：{reason}", "The payment channel refused: {reason}"),
    "BILLER_UNAVAILABLE": ("缴费系统暂时无法连接，请稍后重试", "The billing system cannot be reached, please retry"),
    "BILLER_REFUSED": ("缴费系统拒绝：{reason}", "The billing system refused: {reason}"),
    "UNKNOWN_MERCHANT": ("商户不存在：{code}", "No such merchant: {code}"),
    "DUPLICATE": ("{what}已存在：{key}", "{what} already exists: {key}"),
    "UNBALANCED_ENTRY": ("记账分录借贷不平", "The journal entry does not balance"),
    "INSUFFICIENT_BALANCE": ("账户余额不足：{account}", "Insufficient balance in {account}"),
    "UNKNOWN_LEDGER_ACCOUNT": ("账户不存在：{code}", "No such ledger account: {code}"),
}

STATE_NAMES: dict[str, tuple[str, str]] = {
    "created": ("待支付", "Awaiting payment"),
    "paying": ("支付中", "Paying"),
    "paid": ("已支付，待入账", "Paid, posting pending"),
    "posting": ("入账中", "Posting"),
    "posted": ("缴费成功", "Paid and posted"),
    "pay_failed": ("支付失败", "Payment failed"),
    "closing": ("关闭中", "Closing"),
    "reversing": ("撤销中", "Reversing"),
    "closed": ("已关闭", "Closed"),
    "post_failed": ("缴费失败，待退款", "Posting refused, refund pending"),
    "refunding": ("退款中", "Refunding"),
    "refunded": ("已退款", "Refunded"),
    "manual": ("待人工处理", "Waiting for manual handling"),
    "unposting": ("冲正中", "Reversing the posting"),
    "rejected": ("退款被拒", "Refund rejected"),
}


def state_name(state: str, locale: str) -> str:
    """A state's name for people."""
    zh, en = STATE_NAMES.get(state, (state, state))
    return en if locale == "en" else zh


def render(code: str, locale: str, params: dict[str, Any]) -> str:
    """The message for a code in a locale, with its parameters filled in."""
    zh, en = CATALOG.get(code, CATALOG["INTERNAL"])
    template = en if locale == "en" else zh
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
