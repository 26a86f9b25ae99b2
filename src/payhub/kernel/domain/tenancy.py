"""Merchants (tenants), their terminals and operators, and what each role may do."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from payhub.kernel.domain.errors import Forbidden


class Role(StrEnum):
    OPERATOR = "operator"      # 柜员: takes payments
    SUPERVISOR = "supervisor"  # 主管: also approves refunds
    ADMIN = "admin"            # 管理员: also manages the merchant

    @property
    def rank(self) -> int:
        return {"operator": 1, "supervisor": 2, "admin": 3}[self.value]

    @property
    def label_zh(self) -> str:
        return {"operator": "柜员", "supervisor": "主管", "admin": "管理员"}[self.value]


def require_role(*, role: Role, needed: Role) -> None:
    """Refuse unless role is at least the needed one."""
    if role.rank < needed.rank:
        raise Forbidden("ROLE_REQUIRED", role=needed.label_zh)


@dataclass(slots=True)
class Merchant:
    id: int
    code: str
    name: str
    channel: str = "swiftpass"
    biller: str = "tcis"
    active: bool = True
    service_phone: str = ""  # printed on receipts (客服电话)


@dataclass(frozen=True, slots=True)
class StaffNames:
    """A merchant's operators (display names) and terminals (name and code) by id, for lists and receipts."""

    operators: dict[int, str]
    terminals: dict[int, str]


@dataclass(slots=True)
class Terminal:
    id: int
    merchant_id: int
    code: str
    name: str
    active: bool = True


@dataclass(slots=True)
class Operator:
    id: int
    merchant_id: int
    username: str
    display_name: str
    role: Role
    active: bool = True


@dataclass(frozen=True, slots=True)
class OperatorSession:
    """A signed-in operator's session on one terminal, found by its token's hash."""

    id: int
    merchant_id: int
    operator_id: int
    terminal_id: int
    token_hash: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class NonceUse:
    """A signed request's nonce to record: by which terminal, when."""

    merchant_id: int
    terminal_id: int
    nonce: str
    at: datetime
