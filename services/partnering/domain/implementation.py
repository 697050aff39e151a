"""A lab implementing a proven project ("Option 1: an external project"): funding, impact, handover."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from partnering.domain.errors import InvalidInput, PartneringConflict
from partnering.domain.lab import FundingSource, Lab, LabStatus
from partnering.domain.model import CatalogueEntry

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # what numeric(14,2) holds


class ImplementationStatus(StrEnum):
    PREPARING = "preparing"
    RUNNING = "running"
    HANDED_OVER = "handed_over"  # closed: the project is part of regular operations


class FundingKind(StrEnum):
    BASE = "base"  # the lab's base funding, which lies with the municipality
    ADDITIONAL = "additional"  # additional means from partners and SchuldenlabNL's network


def euros(value: Decimal | int | str) -> Decimal:
    """An amount in euros as an exact decimal of whole cents; floats are refused, never rounded."""
    if isinstance(value, (bool, float)):
        raise InvalidInput("amount_eur", "must be an exact decimal (a string or Decimal), not a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput("amount_eur", f"{value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise InvalidInput("amount_eur", "must be a finite amount")
    if amount <= 0:
        raise InvalidInput("amount_eur", "must be more than zero")
    if amount != amount.quantize(CENT):
        raise InvalidInput("amount_eur", "must have at most two decimals (whole cents)")
    if amount > MAX_AMOUNT:
        raise InvalidInput("amount_eur", f"must not exceed {MAX_AMOUNT}")
    return amount.quantize(CENT)


@dataclass(frozen=True)
class Funding:
    id: uuid.UUID
    source: str
    source_partner_id: uuid.UUID | None
    source_is_municipality: bool
    kind: FundingKind
    amount_eur: Decimal
    recorded_at: datetime
    recorded_by: str

    @property
    def is_municipal_base(self) -> bool:
        return self.kind is FundingKind.BASE and self.source_is_municipality


@dataclass(frozen=True)
class ImpactMeasurement:
    """Impact over one period (both dates included)."""

    id: uuid.UUID
    period_start: date
    period_end: date
    households_reached: int
    households_debt_free: int
    notes: str
    recorded_at: datetime
    recorded_by: str

    def overlaps(self, start: date, end: date) -> bool:
        return self.period_start <= end and start <= self.period_end


@dataclass(frozen=True)
class Handover:
    handed_over_to: tuple[str, ...]
    regular_operations: str
    handed_over_at: datetime
    handed_over_by: str


@dataclass(frozen=True)
class ImpactTotals:
    households_reached: int
    households_debt_free: int


def start_implementation(lab: Lab, project: CatalogueEntry | None, *, project_id: uuid.UUID,
                         already_implementing: bool, at: datetime, by: str) -> Implementation:
    """A formed lab adopts a project that is proven in the catalogue right now."""
    unmet = []
    if lab.status is not LabStatus.FORMED:
        unmet.append(f"lab {lab.name} is not formed yet (status {lab.status.value})")
    if project is None or not project.is_proven:
        unmet.append(f"project {project_id} is not proven in the catalogue")
    if already_implementing:
        unmet.append(f"lab {lab.name} is already implementing project {project_id}")
    if unmet:
        raise PartneringConflict(f"lab {lab.name} cannot implement project {project_id}: " + "; ".join(unmet), unmet)
    return Implementation(id=uuid.uuid4(), lab_id=lab.id, project_id=project_id, project_name=project.name,
                          municipalities=lab.municipalities, started_at=at, started_by=by)


@dataclass
class Implementation:
    id: uuid.UUID
    lab_id: uuid.UUID
    project_id: uuid.UUID
    project_name: str
    municipalities: tuple[str, ...]
    started_at: datetime
    started_by: str | None  # None only for implementations started before this was recorded
    status: ImplementationStatus = ImplementationStatus.PREPARING
    running_since: datetime | None = None
    running_by: str | None = None  # who moved it from preparing to running
    fundings: list[Funding] = field(default_factory=list)
    impacts: list[ImpactMeasurement] = field(default_factory=list)
    handover: Handover | None = None

    @property
    def is_closed(self) -> bool:
        return self.status is ImplementationStatus.HANDED_OVER

    def _closed_condition(self) -> list[str]:
        if self.is_closed and self.handover is not None:
            return [f"the implementation was handed over on {self.handover.handed_over_at:%Y-%m-%d} and is closed"]
        return ["the implementation is closed"] if self.is_closed else []

    def _refuse(self, what: str, unmet: list[str]) -> None:
        if unmet:
            raise PartneringConflict(f"{what} refused: " + "; ".join(unmet), unmet)

    # --- money ------------------------------------------------------------------------------------

    def record_funding(self, *, source: FundingSource, kind: FundingKind, amount_eur: Decimal, by: str,
                       at: datetime) -> Funding:
        self._refuse("funding", self._closed_condition())
        funding = Funding(id=uuid.uuid4(), source=source.name, source_partner_id=source.partner_id,
                          source_is_municipality=source.is_municipality, kind=kind, amount_eur=euros(amount_eur),
                          recorded_at=at, recorded_by=by)
        self.fundings.append(funding)
        return funding

    def funding_total(self, kind: FundingKind | None = None) -> Decimal:
        return sum((f.amount_eur for f in self.fundings if kind is None or f.kind is kind), Decimal("0.00"))

    @property
    def has_municipal_base_funding(self) -> bool:
        return any(f.is_municipal_base for f in self.fundings)

    def start_running(self, at: datetime, *, by: str) -> None:
        """From preparing to running: only once the municipality's base funding is recorded."""
        unmet = self._closed_condition()
        if self.status is ImplementationStatus.RUNNING:
            unmet.append(f"the implementation is already running (since {self.running_since:%Y-%m-%d})")
        if self.status is ImplementationStatus.PREPARING and not self.has_municipal_base_funding:
            unmet.append("no municipal base funding is recorded (kind base, from a municipality)")
        self._refuse("starting", unmet)
        self.status = ImplementationStatus.RUNNING
        self.running_since = at
        self.running_by = by

    # --- impact -----------------------------------------------------------------------------------

    def record_impact(self, *, period_start: date, period_end: date, households_reached: int,
                      households_debt_free: int, notes: str, by: str, at: datetime) -> ImpactMeasurement:
        if period_end < period_start:
            raise InvalidInput("period_end", f"must not be before period_start ({period_start})")
        if households_reached < 0:
            raise InvalidInput("households_reached", "must not be negative")
        if households_debt_free < 0:
            raise InvalidInput("households_debt_free", "must not be negative")
        if households_debt_free > households_reached:
            raise InvalidInput("households_debt_free",
                               f"must not exceed households_reached ({households_debt_free} > {households_reached})")
        unmet = self._closed_condition()
        if self.status is ImplementationStatus.PREPARING:
            unmet.append("the implementation is not running yet; impact is measured while it runs")
        unmet += [f"the period overlaps the measurement of {m.period_start} to {m.period_end}"
                  for m in self.impacts if m.overlaps(period_start, period_end)]
        self._refuse("impact measurement", unmet)
        measurement = ImpactMeasurement(id=uuid.uuid4(), period_start=period_start, period_end=period_end,
                                        households_reached=households_reached,
                                        households_debt_free=households_debt_free, notes=notes,
                                        recorded_at=at, recorded_by=by)
        self.impacts.append(measurement)
        self.impacts.sort(key=lambda m: m.period_start)
        return measurement

    @property
    def impact_totals(self) -> ImpactTotals:
        return ImpactTotals(households_reached=sum(m.households_reached for m in self.impacts),
                            households_debt_free=sum(m.households_debt_free for m in self.impacts))

    # --- handover ---------------------------------------------------------------------------------

    def hand_over(self, *, to: list[str], regular_operations: str, by: str, at: datetime) -> Handover:
        """The lab's task for this project ends: it continues in the regular work of the organisations named."""
        organisations = [" ".join(o.split()) for o in to]
        if not organisations or not all(organisations):
            raise InvalidInput("handed_over_to", "name at least one organisation, none blank")
        if not regular_operations.strip():
            raise InvalidInput("regular_operations", "must say how the project continues; it must not be blank")
        unmet = self._closed_condition()
        if self.status is ImplementationStatus.PREPARING:
            unmet.append("the implementation is not running yet")
        if not self.impacts:
            unmet.append("no impact has been measured yet")
        self._refuse("handover", unmet)
        self.handover = Handover(handed_over_to=tuple(organisations), regular_operations=regular_operations.strip(),
                                 handed_over_at=at, handed_over_by=by)
        self.status = ImplementationStatus.HANDED_OVER
        return self.handover
