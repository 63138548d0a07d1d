"""Money is `Decimal` yuan with two places at the edges and integer fen in the database; never float."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer

Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2, description="元，两位小数"),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
]

CENT = Decimal("0.01")


def to_fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


def yuan(amount: Decimal) -> Decimal:
    """Round to the fen, half up, as payments are made."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
