"""Exact euros: amounts are decimals of whole cents, never floats, never rounded on the way in."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from partnering.domain.errors import InvalidInput

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # what numeric(14,2) holds


def euros(value: Decimal | int | str, field: str = "amount_eur", *, allow_zero: bool = False) -> Decimal:
    """An amount in euros as an exact decimal of whole cents; floats are refused, never rounded.

    Funding is always more than zero; a period's cost or benefit may be zero (`allow_zero`)."""
    if isinstance(value, (bool, float)):
        raise InvalidInput(field, "must be an exact decimal (a string or Decimal), not a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput(field, f"{value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise InvalidInput(field, "must be a finite amount")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput(field, "must not be negative" if allow_zero else "must be more than zero")
    if amount != amount.quantize(CENT):
        raise InvalidInput(field, "must have at most two decimals (whole cents)")
    if amount > MAX_AMOUNT:
        raise InvalidInput(field, f"must not exceed {MAX_AMOUNT}")
    return amount.quantize(CENT)


def per(amount: Decimal, count: Decimal | int, *, places: Decimal = CENT) -> Decimal | None:
    """`amount / count` rounded half up to `places`; None when `count` is zero: a figure with nothing to divide
    by is absent, not infinite (and not zero, which would read as "free")."""
    if not count:
        return None
    return (Decimal(amount) / Decimal(count)).quantize(places, rounding=ROUND_HALF_UP)
