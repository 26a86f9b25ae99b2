"""Readable messages for every stable error code, Chinese first, English second."""
from __future__ import annotations

from typing import Any

LOCALES = ("zh", "en")

CATALOG: dict[str, tuple[str, str]] = {
    "INTERNAL": ("系统繁忙，请稍后重试", "The system is busy, please try again later"),
    "VALIDATION": ("请求内容有误：{detail}", "The request is not valid: {detail}"),
    "NOT_FOUND": ("请求的地址不存在", "No such address"),
    "METHOD_NOT_ALLOWED": ("不支持此请求方式", "This method is not allowed here"),
    "BODY_TOO_LARGE": ("请求内容过大，此地址最多接收{limit}字节", "The request body is too large: at most {limit} bytes here"),
    "NUL_CHARACTER": ("请求中含有不允许的空字符（NUL）", "The request contains a NUL character, which is not allowed"),
    "VALUE_OUT_OF_RANGE": ("请求中的数值、日期或文字超出系统可保存的范围", "A number, date or text in the request is out of the range the system can store"),
    "BAD_ACCOUNT_NO": ("户号格式不正确：只能包含字母、数字、“-”和“_”，最多64位", "Malformed account number: letters, digits, '-' and '_' only, at most 64"),
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
    "BAD_TIMESTAMP": ("终端时间戳格式错误：须为Unix秒数", "Bad terminal timestamp: it must be unix seconds"),
    "REPLAYED_REQUEST": ("重复提交的请求已被拒绝", "A replayed request was refused"),
    "LOGIN_FAILED": ("用户名或密码错误", "Wrong user name or password"),
    "LOGIN_LOCKED": ("密码错误次数过多，已暂时锁定，请{minutes}分钟后再试", "Too many wrong passwords: locked for now, try again in {minutes} min"),
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
    "REFUND_NOT_FOUND": ("退款单不存在：{refund_no}", "No such refund: {refund_no}"),
    "OPERATOR_NOT_FOUND": ("操作员不存在：{operator_id}", "No such operator: {operator_id}"),
    "PRINTER_OFFLINE": ("打印机未连接或已离线，请检查电源和连接线", "The printer is offline: check its power and cable"),
    "PAPER_OUT": ("打印机缺纸，请装纸后重打", "The printer is out of paper: load paper and print again"),
    "PRINTER_ERROR": ("打印机故障：{detail}", "Printer fault: {detail}"),
    "PRINT_JOB_NOT_FOUND": ("打印任务不存在：{job_id}", "No such print job: {job_id}"),
    "PRINT_JOB_PRINTED": ("该凭条已打印；如需再打，请选择“重打印”", "This receipt was printed; use reprint for a copy"),
    "ORIGIN_NOT_ALLOWED": ("此网页无权访问本机设备", "This page may not use the devices of this computer"),
    "CONTENTION": ("系统繁忙，请重试", "The system is busy, please try again"),
    # stored-value cards
    "BAD_CARD_NO": ("卡号无效：{card_no}", "Invalid card number: {card_no}"),
    "BAD_PAY_PASSWORD_FORMAT": ("支付密码须为6位数字", "The pay password must be 6 digits"),
    "BAD_PHONE": ("手机号无效", "Invalid phone number"),
    "CARD_NOT_FOUND": ("卡不存在：{card_no}", "No such card: {card_no}"),
    "CARD_STATE": ("卡{card_no}当前状态（{state}）不能办理此业务", "Card {card_no} cannot do this in its state ({state})"),
    "CARD_NOT_ACTIVE": ("会员卡状态异常（{state}），不能交易：{card_no}", "Card {card_no} cannot transact ({state})"),
    "CARD_HAS_BALANCE": ("卡内仍有余额{balance}分，不能注销", "The card still holds {balance} fen and cannot be cancelled"),
    "CARD_TAKEN": ("卡号已被使用：{card_no}", "The card number is already in use: {card_no}"),
    "FUNDS_ACCOUNT_NOT_FOUND": ("资金账户不存在：{account_no}", "No such funds account: {account_no}"),
    "CARD_MERCHANT_NOT_FOUND": ("卡系统商户不存在或已停用：{merchant_code}", "No such active card merchant: {merchant_code}"),
    "PAY_PASSWORD_REQUIRED": ("请输入支付密码", "The pay password is required"),
    "PAY_PASSWORD_WRONG": ("支付密码错误，还可尝试{left}次", "Wrong pay password; {left} tries left"),
    "PAY_PASSWORD_LOCKED": ("支付密码错误次数过多，卡已冻结", "Too many wrong pay passwords: the cards are frozen"),
    "PINLESS_OVER_CAP": ("免密消费单笔不能超过{max_fen}分，请输入支付密码", "Consumes without the pay password are capped at {max_fen} fen: enter the pay password"),
    "PAY_PASSWORD_CHANGED": ("支付密码已变更，请重新输入", "The pay password changed meanwhile, please enter it again"),
    "OLD_PASSWORD_WRONG": ("原支付密码错误", "The old pay password is wrong"),
    "SAME_CARD": ("转出卡与转入卡不能相同", "A transfer needs two different cards"),
    "TX_NOT_FOUND": ("交易不存在：{out_trade_no}", "No such transaction: {out_trade_no}"),
    "HSM_UNAVAILABLE": ("加密机不可用：{reason}", "The key store (HSM) is not available: {reason}"),
    "HSM_NO_MASTER_KEY": ("加密机中没有卡主密钥{label}，请先执行 payhub keys init", "The key store holds no card master key {label}: run payhub keys init"),
    "UNKNOWN_ORDER_KIND": ("未知的订单类型：{kind}", "Unknown order kind: {kind}"),
    "CARD_NO_QR": ("储值卡商户不支持二维码收款，请刷卡并输入支付密码", "Card merchants take no QR payments: swipe the card and enter the pay password"),
    "NOT_A_CONSUME": ("只能对消费交易退款：{out_trade_no}", "Only consumes can be refunded: {out_trade_no}"),
    "LIMIT_PER_TXN": ("超过{who}单笔限额{limit}分", "Above the per-transaction limit of {who}: {limit} fen"),
    "LIMIT_PER_DAY": ("超过{who}当日限额{limit}分", "Above the daily limit of {who}: {limit} fen"),
    "BAD_LIMIT_SUBJECT": ("限额对象无效：{subject}", "Invalid limit subject: {subject}"),
    "SMS_CODE_WRONG": ("验证码错误或已过期", "Wrong or expired verification code"),
    "SMS_UNAVAILABLE": ("短信服务暂时无法使用，请稍后重试", "The SMS service is not available at the moment, please retry"),
    "SMS_TOO_OFTEN": ("验证码发送过于频繁，请{seconds}秒后再试", "Codes are sent too often; try again in {seconds} s"),
    "MEMBER_NOT_FOUND": ("用户未注册：{phone}", "No member registered with {phone}"),
    "MEMBER_EXISTS": ("该手机号已注册", "This phone number is already registered"),
    "ALREADY_BOUND": ("已经绑卡（{card_no}）", "A card is already bound ({card_no})"),
    "NOT_BOUND": ("尚未绑卡", "No card is bound yet"),
    "CONSENT_REQUIRED": ("已经绑卡：旧卡不退款，余额3日内转入新卡，请确认迁移", "A card is bound: the old card is not refunded, its balance moves to the new card within 3 days; please confirm the move"),
    "POOL_EMPTY": ("卡池中没有可用的虚拟卡", "No virtual card is left in the pool"),
    "RECHARGE_NOT_FOUND": ("充值单不存在：{recharge_no}", "No such recharge: {recharge_no}"),
    "RECHARGE_UNCONFIRMED": ("充值单{recharge_no}的支付结果仍未明确（{status}），请稍后再处理", "The payment of recharge {recharge_no} is still unclear ({status}); try again later"),
    "CASE_NOT_FOUND": ("可疑交易不存在：{case_no}", "No such suspicious case: {case_no}"),
    "EVENT_NOT_FOUND": ("推送事件不存在：{event_id}", "No such event: {event_id}"),
    "PUSH_NOT_CONFIGURED": ("未配置交易推送地址", "No push URL is configured"),
    "PUSH_URL_INVALID": ("推送地址无效：须为 https://主机[:端口]/路径", "Invalid push URL: it must be https://host[:port]/path"),
    "PUSH_URL_NOT_HTTPS": ("推送地址须使用 HTTPS", "The push URL must use HTTPS"),
    "PUSH_URL_PRIVATE": ("推送地址指向内网、本机或保留地址（{host}），未在配置中允许", "The push URL points to a private, loopback or reserved address ({host}) that the configuration does not allow"),
    "PUSH_URL_UNRESOLVABLE": ("推送地址的主机名无法解析：{host}", "The host of the push URL cannot be resolved: {host}"),
    "ALREADY_SETTLED": ("{business_date}已结算", "{business_date} is already settled"),
    "NOT_YET_SETTLEABLE": ("T+1结算：{business_date}当日尚未结束", "T+1 settlement: {business_date} is not over yet"),
}

STATE_NAMES: dict[str, tuple[str, str]] = {
    "created": ("待支付", "Awaiting payment"),
    "paying": ("支付中", "Paying"),
    "paid": ("已支付，待交付", "Paid, fulfilment pending"),
    "fulfilling": ("交付中", "Fulfilling"),
    "fulfilled": ("已完成", "Completed"),
    "pay_failed": ("支付失败", "Payment failed"),
    "closing": ("关闭中", "Closing"),
    "reversing": ("撤销中", "Reversing"),
    "closed": ("已关闭", "Closed"),
    "fulfil_failed": ("交付失败", "Fulfilment refused"),
    "refunding": ("退款中", "Refunding"),
    "refunded": ("已退款", "Refunded"),
    "manual": ("待人工处理", "Waiting for manual handling"),
    "undoing": ("冲正中", "Reversing"),
    "rejected": ("退款被拒", "Refund rejected"),
    "opened": ("已开户待审核", "Opened, awaiting audit"),
    "audited": ("已审核待激活", "Audited, awaiting activation"),
    "active": ("有效", "Active"),
    "frozen": ("已冻结", "Frozen"),
    "lost": ("已挂失", "Reported lost"),
    "cancelled": ("已注销", "Cancelled"),
    "credited": ("已充值", "Credited"),
    "failed": ("失败", "Failed"),
    "moving": ("余额迁移中", "Moving the balance"),
    "done": ("已完成", "Done"),
    "open": ("待审核", "Open"),
    "reviewing": ("审核中", "Under review"),
    "confirmed": ("已确认可疑", "Confirmed"),
    "dismissed": ("已排除", "Dismissed"),
}


# an order kind may word its states for its own users: the counter says 入账 and 缴费 where the kernel says 交付
KIND_STATE_NAMES: dict[str, dict[str, tuple[str, str]]] = {
    "biller_posting": {
        "paid": ("已支付，待入账", "Paid, posting pending"),
        "fulfilling": ("入账中", "Posting"),
        "fulfilled": ("缴费成功", "Paid and posted"),
        "fulfil_failed": ("缴费失败，待退款", "Posting refused, refund pending"),
    },
}


# the hub's own fixed reasons for a move in an order's or refund's history; a reason with a channel's, biller's or
# person's words in it stays as written
REASONS: dict[str, str] = {
    "扫付款码": "Payment code",
    "扫付款码，重试": "Payment code, another try",
    "收款二维码": "Collection QR",
    "收款二维码，重试": "Collection QR, another try",
    "支付渠道确认已支付": "The channel confirmed the payment",
    "二维码过期未支付": "The QR expired unpaid",
    "已交付": "Fulfilled",
    "已全额退款": "Refunded in full",
    "已冲正": "Reversed at the biller",
    "支付渠道已退款": "The channel refunded",
    "订单关闭后渠道报告已支付，需人工核实": "The channel reported a payment after the order closed; check by hand",
    "支付渠道已关闭交易": "The channel closed the trade",
    "支付渠道已关单": "The channel closed the order",
    "支付渠道已撤销": "The channel reversed the payment",
    "开始交付（入账）": "Fulfilment (posting) started",
    "交付失败，自动退款": "Fulfilment refused, refunding automatically",
    "订单过期未支付": "The order expired unpaid",
    "柜台取消": "Cancelled at the counter",
}


def reason_name(reason: str, locale: str) -> str:
    """A history reason in the locale: the hub's fixed reasons in English too, any other as written."""
    return REASONS.get(reason, reason) if locale == "en" else reason


def pick(table: dict[str, tuple[str, str]], key: str, locale: str) -> str:
    """The (Chinese, English) entry of a table in the locale; the key itself when the table lacks it."""
    zh, en = table.get(key, (key, key))
    return en if locale == "en" else zh


def state_name(state: str, locale: str, *, kind: str | None = None) -> str:
    """A state's name for people, in the words of the order's kind where it has its own."""
    return pick(STATE_NAMES | KIND_STATE_NAMES.get(kind or "", {}), state, locale)


def render(code: str, locale: str, params: dict[str, Any]) -> str:
    """The message for a code in a locale, with its parameters filled in."""
    zh, en = CATALOG.get(code, CATALOG["INTERNAL"])
    template = en if locale == "en" else zh
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
