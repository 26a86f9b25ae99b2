"""Stored-value cards and funds accounts: life cycle, money, queries, limits, risk, pushes, members, custody."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from payhub.cards.domain.money import Funding, TxChannel, TxKind
from payhub.cards.domain.risk import SuspiciousCase
from payhub.cards.domain.rows import CardEvent, CardMerchant, CardTx, CustodySettlement, LimitSetting, PoolBatch
from payhub.cards.domain.cards import Card, CardKind
from payhub.kernel.domain.tenancy import Role, require_role
from payhub.cards.api import schemas as s
from payhub.api.deps import ActorDep, ClientIp, HubDep
from payhub.api.openapi_docs import SIGNED, error_responses
from payhub.cards.services import custody as card_custody
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import limits as card_limits
from payhub.cards.services import members as card_members
from payhub.cards.services import money as card_money
from payhub.cards.services import online_recharge as card_online_recharge
from payhub.cards.services import pool as card_pool
from payhub.cards.services import push as card_push
from payhub.cards.services import queries as card_queries
from payhub.cards.services import sms as card_sms
from payhub.cards.services import suspicious as card_suspicious
from payhub.kernel.services.auth import Actor
from payhub.cards.services.tx import TxResult

# every card operation may be refused by role, password or SMS code, miss a card, or clash with its state
CARD_ERRORS = SIGNED | error_responses(400, 403, 404, 409)

router = APIRouter(prefix="/api/v1/cards", tags=["cards"], responses=CARD_ERRORS)
CardNoPath = Annotated[str, Path(pattern=r"^[0-9]{12,19}$")]
PhonePath = Annotated[str, Path(pattern=r"^1[3-9][0-9]{9}$")]


def _need(actor: Actor, role: Role) -> int:
    require_role(role=actor.operator.role, needed=role)
    return actor.merchant_id


def _card(card: Card) -> dict[str, Any]:
    return {"card_no": card.card_no, "state": card.state.value, "kind": card.kind.value}


# --- issuer set-up (admin) ---------------------------------------------------------------------------

@router.put("/program", response_model=s.OkOut,
            summary="Push URL and secret, wrong-password limit of the issuer (admin)")
async def set_program(body: s.ProgramIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    await card_lifecycle.configure_program(hub=hub, merchant_id=_need(actor, Role.ADMIN), push_url=body.push_url,
                                           push_secret=body.push_secret, password_tries=body.password_tries)
    return {"ok": True}


@router.post("/merchants", response_model=s.CardMerchantAddedOut, status_code=201,
             summary="Register a card merchant (shop, online store) (admin)")
async def add_merchant(body: s.CardMerchantIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    await card_lifecycle.add_card_merchant(hub=hub, merchant_id=_need(actor, Role.ADMIN), code=body.code, name=body.name)
    return {"code": body.code, "name": body.name}


@router.put("/merchants/{code}/pinless-offline", response_model=s.PinlessOfflineOut,
            summary="Offline consumes without the pay password at a card merchant, up to a cap (admin)")
async def set_pinless_offline(code: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{2,32}$")], body: s.PinlessOfflineIn,
                              hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    await card_lifecycle.set_pinless_offline(hub=hub, merchant_id=_need(actor, Role.ADMIN), code=code,
                                             max_amount=body.max_amount)
    return {"code": code, "pinless_offline_max": body.max_amount}


@router.get("/merchants", response_model=list[s.CardMerchantOut], summary="The card merchants")
async def merchants(hub: HubDep, actor: ActorDep) -> list[CardMerchant]:
    return await card_lifecycle.list_card_merchants(hub=hub, merchant_id=actor.merchant_id)


@router.get("/pool", response_model=list[s.PoolBatchOut], summary="Card pool batches: numbers issued and taken")
async def pool(hub: HubDep, actor: ActorDep) -> list[PoolBatch]:
    return await card_pool.stats(hub=hub, merchant_id=actor.merchant_id)


@router.put("/limits", response_model=s.OkOut,
            summary="Per-transaction and per-day limits of every card, one card or a merchant (admin)")
async def set_limit(body: s.LimitIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    await card_limits.set_limit(hub=hub, merchant_id=_need(actor, Role.ADMIN), subject=body.subject,
                                per_txn=body.per_txn, per_day=body.per_day)
    return {"ok": True}


@router.get("/limits", response_model=list[s.LimitOut], summary="The configured limits")
async def limits(hub: HubDep, actor: ActorDep) -> list[LimitSetting]:
    return await card_limits.list_limits(hub=hub, merchant_id=actor.merchant_id)


@router.post("/pool", response_model=s.PoolIssuedOut, status_code=201,
             summary="Issue a batch of card numbers into the pool (admin)")
async def issue_pool(body: s.PoolIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await card_pool.issue(hub=hub, merchant_id=_need(actor, Role.ADMIN), prefix=body.prefix, count=body.count,
                                 kind=CardKind(body.kind))


# --- accounts and the card life cycle -------------------------------------------------------------------

@router.post("/accounts", response_model=s.AccountOut, status_code=201,
             summary="Open a funds account with its pay password")
async def open_account(body: s.AccountIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    account = await card_lifecycle.open_account(hub=hub, merchant_id=actor.merchant_id, holder_name=body.holder_name,
                                                phone=body.phone, pay_password=body.pay_password)
    return {"account_no": account.account_no, "holder_name": account.holder_name}


@router.post("", response_model=s.CardStateOut, status_code=201,
             summary="开卡: open a card on a funds account (waits for the audit)")
async def open_card(body: s.CardIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    card = await card_lifecycle.open_card(hub=hub, merchant_id=actor.merchant_id, account_no=body.account_no,
                                          card_no=body.card_no, kind=CardKind(body.kind), actor=actor.name)
    return _card(card)


@router.post("/{card_no}/audit", response_model=s.CardStateOut, summary="审核 (supervisor)")
async def audit(card_no: CardNoPath, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return _card(await card_lifecycle.audit(hub=hub, merchant_id=_need(actor, Role.SUPERVISOR), card_no=card_no,
                                            actor=actor.name))


@router.post("/{card_no}/activate", response_model=s.CardStateOut, summary="激活")
async def activate(card_no: CardNoPath, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return _card(await card_lifecycle.activate(hub=hub, merchant_id=actor.merchant_id, card_no=card_no, actor=actor.name))


@router.post("/{card_no}/freeze", response_model=s.CardStateOut, summary="冻结")
async def freeze(card_no: CardNoPath, body: s.ReasonIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return _card(await card_lifecycle.freeze(hub=hub, merchant_id=actor.merchant_id, card_no=card_no, reason=body.reason,
                                             actor=actor.name))


@router.post("/{card_no}/unfreeze", response_model=s.CardStateOut, summary="解冻 (supervisor)")
async def unfreeze(card_no: CardNoPath, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return _card(await card_lifecycle.unfreeze(hub=hub, merchant_id=_need(actor, Role.SUPERVISOR), card_no=card_no,
                                               actor=actor.name))


@router.post("/{card_no}/lost", response_model=s.CardStateOut, summary="挂失")
async def lost(card_no: CardNoPath, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return _card(await card_lifecycle.report_lost(hub=hub, merchant_id=actor.merchant_id, card_no=card_no, actor=actor.name))


@router.post("/{card_no}/found", response_model=s.CardStateOut, summary="解挂")
async def found(card_no: CardNoPath, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return _card(await card_lifecycle.withdraw_lost(hub=hub, merchant_id=actor.merchant_id, card_no=card_no,
                                                    actor=actor.name))


@router.post("/{card_no}/cancel", response_model=s.CardStateOut, summary="注销 an empty card (supervisor)")
async def cancel(card_no: CardNoPath, body: s.ReasonIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return _card(await card_lifecycle.cancel(hub=hub, merchant_id=_need(actor, Role.SUPERVISOR), card_no=card_no,
                                             reason=body.reason, actor=actor.name))


@router.post("/{card_no}/password", response_model=s.OkOut,
             summary="重置密码: with the old one, or without it by a supervisor")
async def reset_password(card_no: CardNoPath, body: s.PasswordIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    await card_lifecycle.reset_password(hub=hub, merchant_id=actor.merchant_id, card_no=card_no,
                                        new_password=body.new_password, old_password=body.old_password,
                                        role=actor.operator.role)
    return {"ok": True}


# --- money ------------------------------------------------------------------------------------------------

@router.post("/recharges", response_model=s.TxResultOut,
             summary="充值 in cash at a counter (idempotent by merchant + out_trade_no)")
async def recharge(body: s.RechargeIn, hub: HubDep, actor: ActorDep) -> TxResult:
    return await card_money.recharge(
        hub=hub, merchant_id=actor.merchant_id, merchant_code=body.merchant_code, card_no=body.card_no,
        out_trade_no=body.out_trade_no, amount=body.amount, funding=Funding.CASH, channel=TxChannel.OFFLINE,
        terminal_code=body.terminal_code or actor.terminal.code)


@router.post("/online-recharges", response_model=s.OnlineRechargeOut,
             summary="线上充值: charge a wallet payment code, then credit the card")
async def online_recharge(body: s.OnlineRechargeIn, hub: HubDep, actor: ActorDep, ip: ClientIp) -> dict[str, Any]:
    async with hub.uow(read_only=True) as uow:
        merchant = await uow.tenancy.merchant(merchant_id=actor.merchant_id)
    assert merchant is not None  # the signed-in operator's merchant
    return await card_online_recharge.start(
        hub=hub, merchant_id=actor.merchant_id, merchant_code=body.merchant_code, card_no=body.card_no,
        out_trade_no=body.out_trade_no, amount=body.amount, auth_code=body.auth_code, merchant=merchant.code,
        client_ip=ip)


@router.get("/online-recharges/{recharge_no}", response_model=s.OnlineRechargeOut, summary="One online recharge")
async def online_recharge_get(recharge_no: str, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await card_online_recharge.get(hub=hub, merchant_id=actor.merchant_id, recharge_no=recharge_no)


@router.post("/online-recharges/{recharge_no}/retry-credit", response_model=s.OnlineRechargeOut,
             summary="人工处理: credit a paid recharge again (supervisor)")
async def online_recharge_retry(recharge_no: str, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await card_online_recharge.resolve_manual(hub=hub, merchant_id=_need(actor, Role.SUPERVISOR),
                                                     recharge_no=recharge_no)


@router.post("/consumes", response_model=s.TxResultOut,
             summary="消费 online (pay password) or offline (idempotent by merchant + out_trade_no)")
async def consume(body: s.ConsumeIn, hub: HubDep, actor: ActorDep, request: Request) -> TxResult:
    return await card_money.consume(
        hub=hub, merchant_id=actor.merchant_id, merchant_code=body.merchant_code, card_no=body.card_no,
        out_trade_no=body.out_trade_no, amount=body.amount, channel=TxChannel(body.channel),
        pay_password=body.pay_password, terminal_code=body.terminal_code or actor.terminal.code,
        batcher=request.app.state.consumes)


@router.post("/refunds", response_model=s.TxResultOut,
             summary="退款 of a consume by its out_trade_no; several partial refunds allowed")
async def refund(body: s.RefundIn, hub: HubDep, actor: ActorDep) -> TxResult:
    return await card_money.refund(
        hub=hub, merchant_id=actor.merchant_id, merchant_code=body.merchant_code, out_trade_no=body.out_trade_no,
        out_refund_no=body.out_refund_no, amount=body.amount, channel=TxChannel(body.channel),
        terminal_code=body.terminal_code or actor.terminal.code)


@router.post("/transfers", response_model=s.TxResultOut, summary="转账 between two cards (the payer's pay password)")
async def transfer(body: s.TransferIn, hub: HubDep, actor: ActorDep) -> TxResult:
    return await card_money.transfer(
        hub=hub, merchant_id=actor.merchant_id, merchant_code=body.merchant_code, from_card=body.from_card,
        to_card=body.to_card, out_trade_no=body.out_trade_no, amount=body.amount, pay_password=body.pay_password)


# --- queries ----------------------------------------------------------------------------------------------

@router.get("/transactions", response_model=list[s.CardTxOut],
            summary="交易列表 by time, kind, channel, merchant, terminal, card, external no.")
async def transactions(
    hub: HubDep, actor: ActorDep, since: datetime | None = None, until: datetime | None = None,
    kind: TxKind | None = None, channel: TxChannel | None = None, merchant_code: str | None = None,
    terminal_code: str | None = None, card_no: str | None = None, out_no: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> list[CardTx]:
    return await card_queries.search(
        hub=hub, merchant_id=actor.merchant_id, since=since, until=until, limit=limit, offset=offset,
        kind=kind.value if kind else None, channel=channel.value if channel else None, card_merchant_code=merchant_code,
        terminal_code=terminal_code, card_no=card_no, out_no=out_no)


@router.get("/transactions/{merchant_code}/{out_trade_no}", response_model=s.CardTxDetailOut,
            summary="交易明细 with state and refunds")
async def transaction(merchant_code: str, out_trade_no: str, hub: HubDep, actor: ActorDep,
                      kind: TxKind = TxKind.CONSUME) -> dict[str, Any]:
    return await card_queries.detail(hub=hub, merchant_id=actor.merchant_id, merchant_code=merchant_code,
                                     out_trade_no=out_trade_no, kind=kind)


@router.get("/recharge-total", response_model=s.RechargeTotalOut,
            summary="充值总金额 by merchant, terminal, card and time range")
async def recharge_total(hub: HubDep, actor: ActorDep, since: datetime | None = None, until: datetime | None = None,
                         merchant_code: str | None = None, terminal_code: str | None = None,
                         card_no: str | None = None) -> dict[str, Any]:
    return await card_queries.recharge_total(hub=hub, merchant_id=actor.merchant_id, since=since, until=until,
                                             card_merchant_code=merchant_code, terminal_code=terminal_code,
                                             card_no=card_no)


# --- risk and pushes -----------------------------------------------------------------------------------------

@router.get("/suspicious", response_model=list[s.SuspiciousCaseOut], summary="可疑交易 review list")
async def suspicious(hub: HubDep, actor: ActorDep, state: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[SuspiciousCase]:
    return await card_suspicious.list_cases(hub=hub, merchant_id=_need(actor, Role.SUPERVISOR), state=state, limit=limit)


@router.post("/suspicious/{case_no}", response_model=s.CaseReviewedOut,
             summary="Take, confirm or dismiss a case (supervisor)")
async def review(case_no: str, body: s.ReviewIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    case = await card_suspicious.review(hub=hub, merchant_id=_need(actor, Role.SUPERVISOR), case_no=case_no,
                                        decision=body.decision, note=body.note, actor=actor.name)
    return {"case_no": case.case_no, "state": case.state.value}


@router.get("/events", response_model=list[s.CardEventOut], summary="Pushed events with their delivery state")
async def events(hub: HubDep, actor: ActorDep, undelivered: bool = False,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[CardEvent]:
    return await card_push.list_events(hub=hub, merchant_id=_need(actor, Role.SUPERVISOR), limit=limit,
                                       undelivered=undelivered)


@router.post("/events/{event_id}/replay", response_model=s.OkOut, summary="Push an event again (admin)")
async def replay(event_id: str, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    await card_push.replay(hub=hub, merchant_id=_need(actor, Role.ADMIN), event_id=event_id)
    return {"ok": True}


# --- members (the issuer's app backend calls these for its users) -----------------------------------------------

@router.post("/members/sms-codes", response_model=s.OkOut, summary="Send an SMS verification code")
async def sms_code(body: s.SmsCodeIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    await card_sms.send_code(hub=hub, merchant_id=actor.merchant_id, phone=body.phone, purpose=body.purpose)
    return {"ok": True}


@router.post("/members", response_model=s.MemberOut, status_code=201,
             summary="注册用户 with an SMS code and a pay password")
async def register(body: s.MemberIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await card_members.register(hub=hub, merchant_id=actor.merchant_id, phone=body.phone, name=body.name,
                                       sms_code=body.sms_code, pay_password=body.pay_password)


@router.post("/members/{phone}/physical-card", response_model=s.PhysicalCardBoundOut,
             summary="绑卡（实卡）; replaces a bound card with consent")
async def bind_physical(phone: PhonePath, body: s.BindPhysicalIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await card_members.bind_physical(hub=hub, merchant_id=actor.merchant_id, phone=phone, sms_code=body.sms_code,
                                            card_no=body.card_no, consent_to_move=body.consent_to_move)


@router.post("/members/{phone}/virtual-card", response_model=s.MemberCardOut,
             summary="绑卡（虚拟卡）from the pool, one per member")
async def bind_virtual(phone: PhonePath, body: s.SmsOnlyIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await card_members.bind_virtual(hub=hub, merchant_id=actor.merchant_id, phone=phone, sms_code=body.sms_code)


@router.post("/members/{phone}/lost", response_model=s.MemberCardOut, summary="挂失（线上）with an SMS code")
async def member_lost(phone: PhonePath, body: s.SmsOnlyIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await card_members.report_lost(hub=hub, merchant_id=actor.merchant_id, phone=phone, sms_code=body.sms_code)


@router.post("/members/{phone}/found", response_model=s.MemberCardOut, summary="解挂（线上）with an SMS code")
async def member_found(phone: PhonePath, body: s.SmsOnlyIn, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await card_members.withdraw_lost(hub=hub, merchant_id=actor.merchant_id, phone=phone, sms_code=body.sms_code)


@router.get("/replacements/{replacement_no}", response_model=s.ReplacementOut,
            summary="A card replacement and the balance it moved")
async def replacement(replacement_no: str, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await card_members.replacement_view(hub=hub, merchant_id=actor.merchant_id, replacement_no=replacement_no)


# --- custody -------------------------------------------------------------------------------------------------------

@router.get("/custody/{business_date}", response_model=s.CustodyReportOut,
            summary="托管账户 T+1 report of a business day's recharges")
async def custody_report(business_date: date, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await card_custody.report(hub=hub, merchant_id=_need(actor, Role.SUPERVISOR), day=business_date)


@router.post("/custody/{business_date}/settle", response_model=s.SettlementOut,
             summary="Record the T+1 transfer into the custody account (admin)")
async def custody_settle(business_date: date, body: s.SettleIn, hub: HubDep, actor: ActorDep) -> CustodySettlement:
    return await card_custody.settle(hub=hub, merchant_id=_need(actor, Role.ADMIN), day=business_date,
                                     bank_ref=body.bank_ref, actor=actor.name)


# --- card reads last: /{card_no} must not shadow the fixed paths above ---------------------------------------

@router.get("/{card_no}", response_model=s.CardInfoOut,
            summary="Card information and state, with its balance (no password)")
async def card_info(card_no: CardNoPath, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await card_lifecycle.card_info(hub=hub, merchant_id=actor.merchant_id, card_no=card_no)


@router.get("/{card_no}/balance", response_model=s.CardBalanceOut, summary="余额查询 (no password)")
async def balance(card_no: CardNoPath, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    info = await card_lifecycle.card_info(hub=hub, merchant_id=actor.merchant_id, card_no=card_no)
    return {"card_no": card_no, "balance": info["balance"], "state": info["state"]}
