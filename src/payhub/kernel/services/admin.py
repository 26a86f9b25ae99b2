"""Setting up merchants, their terminals and operators."""
from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets

from payhub.kernel.domain.errors import InvalidInput, NotFound
from payhub.kernel.domain.tenancy import Merchant, Operator, Role, Terminal
from payhub.kernel.services.context import Hub

CODE = re.compile(r"[A-Za-z0-9_-]{2,32}")


def _code(value: str) -> str:
    if not CODE.fullmatch(value):
        raise InvalidInput("VALIDATION", detail=f"编号只能含字母、数字、-、_，2到32位：{value}")
    return value


async def create_merchant(*, hub: Hub, code: str, name: str, channel: str = "swiftpass", biller: str = "tcis") -> Merchant:
    """Register a merchant (tenant) with its payment channel and biller."""
    hub.registry.channel(channel)
    if not hub.registry.has_biller(biller):
        raise InvalidInput("VALIDATION", detail=f"未知缴费系统：{biller}")
    async with hub.uow() as uow:
        merchant = await uow.tenancy.add_merchant(code=_code(code), name=name, channel=channel, biller=biller, at=hub.clock.now())
        await uow.commit()
    return merchant


async def _merchant(hub: Hub, code: str) -> Merchant:
    async with hub.uow(read_only=True) as uow:
        merchant = await uow.tenancy.merchant(code=code)
    if merchant is None:
        raise NotFound("UNKNOWN_MERCHANT", code=code)
    return merchant


async def set_service_phone(*, hub: Hub, merchant_code: str, phone: str) -> Merchant:
    """Set the customer-service phone printed on the merchant's receipts (empty: none)."""
    phone = phone.strip()
    if not re.fullmatch(r"[0-9+\- ]{0,32}", phone):
        raise InvalidInput("VALIDATION", detail="客服电话只能含数字、空格、+ 和 -，最多32位")
    merchant = await _merchant(hub, merchant_code)
    async with hub.uow() as uow:
        await uow.tenancy.set_service_phone(merchant_id=merchant.id, phone=phone, at=hub.clock.now())
        await uow.commit()
    hub.auth_cache.merchants.forget(merchant.id)
    return dataclasses.replace(merchant, service_phone=phone)


async def create_terminal(*, hub: Hub, merchant_code: str, code: str, name: str, key: str | None = None) -> tuple[Terminal, str]:
    """Register a terminal; returns it with its signing key (shown once, kept sealed)."""
    merchant = await _merchant(hub, merchant_code)
    key = key or secrets.token_hex(32)
    async with hub.uow() as uow:
        terminal = await uow.tenancy.add_terminal(
            merchant_id=merchant.id, code=_code(code), name=name, key_sealed=hub.sealer.seal(key), at=hub.clock.now()
        )
        await uow.commit()
    return terminal, key


async def create_operator(
    *, hub: Hub, merchant_code: str, username: str, display_name: str, role: str, password: str,
) -> Operator:
    """Register an operator with a role (operator, supervisor, admin) and a password kept as an argon2 hash."""
    merchant = await _merchant(hub, merchant_code)
    try:
        parsed_role = Role(role)
    except ValueError:
        raise InvalidInput("VALIDATION", detail=f"未知角色：{role}") from None
    if len(password) < 6:
        raise InvalidInput("VALIDATION", detail="密码至少6位")
    password_hash = await asyncio.to_thread(hub.passwords.hash, password)
    async with hub.uow() as uow:
        operator = await uow.tenancy.add_operator(
            merchant_id=merchant.id, username=_code(username), display_name=display_name, role=parsed_role.value,
            password_hash=password_hash, at=hub.clock.now(),
        )
        await uow.commit()
    return operator
