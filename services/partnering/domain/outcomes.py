"""The optional outcome and cost measures of an impact period, and the totals and figures derived from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from partnering.domain.errors import InvalidInput
from partnering.domain.money import euros, per

RATIO = Decimal("0.0001")


class Measured(Protocol):
    households_reached: int
    households_debt_free: int
    households_stabilised: int | None
    repeat_cases: int | None
    cost_eur: Decimal | None
    benefit_eur: Decimal | None


@dataclass(frozen=True)
class Outcomes:
    """The optional measures of one period (SPEC 5.3); None = not reported for this period."""

    households_stabilised: int | None = None
    median_days_to_stabilisation: int | None = None
    repeat_cases: int | None = None
    cost_eur: Decimal | None = None
    benefit_eur: Decimal | None = None

    def checked(self, households_reached: int) -> Outcomes:
        """These measures made exact and consistent with the period's households reached, or InvalidInput."""
        for name in ("households_stabilised", "median_days_to_stabilisation", "repeat_cases"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidInput(name, "must not be negative")
        if self.households_stabilised is not None and self.households_stabilised > households_reached:
            raise InvalidInput("households_stabilised", "must not exceed households_reached "
                                                        f"({self.households_stabilised} > {households_reached})")
        if self.median_days_to_stabilisation is not None and not self.households_stabilised:
            # A median over no households is no figure at all.
            raise InvalidInput("median_days_to_stabilisation", "needs households_stabilised of at least 1")
        return Outcomes(
            households_stabilised=self.households_stabilised,
            median_days_to_stabilisation=self.median_days_to_stabilisation,
            repeat_cases=self.repeat_cases,
            cost_eur=None if self.cost_eur is None else euros(self.cost_eur, "cost_eur", allow_zero=True),
            benefit_eur=None if self.benefit_eur is None else euros(self.benefit_eur, "benefit_eur", allow_zero=True),
        )


@dataclass(frozen=True)
class ImpactTotals:
    """Totals over all periods, and the derived figures. An optional total is None when no period reported it."""

    households_reached: int
    households_debt_free: int
    households_stabilised: int | None = None
    repeat_cases: int | None = None
    cost_eur: Decimal | None = None
    benefit_eur: Decimal | None = None
    cost_per_household_reached_eur: Decimal | None = None
    cost_per_household_debt_free_eur: Decimal | None = None
    benefit_per_euro: Decimal | None = None


def _sum_reported(values: Iterable[int | Decimal | None], zero: int | Decimal = 0) -> int | Decimal | None:
    reported = [v for v in values if v is not None]
    return sum(reported, zero) if reported else None


def impact_totals(measurements: Iterable[Measured]) -> ImpactTotals:
    """Each derived figure divides over the periods that report its numerator (a cost, a benefit): households of
    periods without a cost would otherwise make the cost per household look lower than it was."""
    ms = list(measurements)
    costed = [m for m in ms if m.cost_eur is not None]
    cost = _sum_reported((m.cost_eur for m in ms), Decimal("0.00"))
    with_benefit = [m for m in costed if m.benefit_eur is not None]
    return ImpactTotals(
        households_reached=sum(m.households_reached for m in ms),
        households_debt_free=sum(m.households_debt_free for m in ms),
        households_stabilised=_sum_reported(m.households_stabilised for m in ms),
        repeat_cases=_sum_reported(m.repeat_cases for m in ms),
        cost_eur=cost,
        benefit_eur=_sum_reported((m.benefit_eur for m in ms), Decimal("0.00")),
        cost_per_household_reached_eur=per(sum((m.cost_eur for m in costed), Decimal(0)),
                                           sum(m.households_reached for m in costed)),
        cost_per_household_debt_free_eur=per(sum((m.cost_eur for m in costed), Decimal(0)),
                                             sum(m.households_debt_free for m in costed)),
        benefit_per_euro=per(sum((m.benefit_eur for m in with_benefit), Decimal(0)),
                             sum((m.cost_eur for m in with_benefit), Decimal(0)), places=RATIO),
    )
