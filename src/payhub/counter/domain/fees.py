"""The kinds of fee a counter takes."""
from __future__ import annotations

from enum import StrEnum

from payhub.kernel.domain.errors import InvalidInput


class FeeType(StrEnum):
    GAS = "gas"
    WATER = "water"
    BUSINESS = "business"
    OTHER = "other"

    @property
    def has_arrears(self) -> bool:
        """Other fees are taken as entered; the rest are looked up in the biller first."""
        return self is not FeeType.OTHER

    @property
    def label_zh(self) -> str:
        return {"gas": "燃气费", "water": "水费", "business": "营业费", "other": "其他费用"}[self.value]

    @property
    def label_en(self) -> str:
        return {"gas": "Gas", "water": "Water", "business": "Business fee", "other": "Other fees"}[self.value]


def parse_fee_type(value: str) -> FeeType:
    """The fee type named by value, or UNKNOWN_FEE_TYPE."""
    try:
        return FeeType(value)
    except ValueError:
        raise InvalidInput("UNKNOWN_FEE_TYPE", fee_type=value) from None
