"""A lab implementing a proven project ("Option 1: an external project"): funding, stages, impact, handover."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from partnering.domain.errors import InvalidInput, PartneringConflict
from partnering.domain.lab import FundingSource, Lab, LabStatus
from partnering.domain.model import CatalogueEntry
from partnering.domain.money import CENT, MAX_AMOUNT, euros
from partnering.domain.outcomes import ImpactTotals, Outcomes, impact_totals
from partnering.domain.stages import Stage, check_move

__all__ = ["CENT", "MAX_AMOUNT", "Funding", "FundingKind", "Handover", "ImpactMeasurement", "ImpactTotals",
           "Implementation", "ImplementationStatus", "Outcomes", "Stage", "StageChange", "euros",
           "start_implementation"]


class ImplementationStatus(StrEnum):
    PREPARING = "preparing"
    RUNNING = "running"
    PAUSED = "paused"  # on hold with a reason; resumes to preparing or running
    STOPPED = "stopped"  # closed: given up, with a reason (information for the next lab)
    HANDED_OVER = "handed_over"  # closed: the project is part of regular operations

    @property
    def closes(self) -> bool:
        return self in (ImplementationStatus.STOPPED, ImplementationStatus.HANDED_OVER)


class FundingKind(StrEnum):
    BASE = "base"  # the lab's base funding, which lies with the municipality
    ADDITIONAL = "additional"  # additional means from partners and SchuldenlabNL's network


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
    # The optional measures of SPEC 5.3 (None = not reported for this period).
    households_stabilised: int | None = None
    median_days_to_stabilisation: int | None = None
    repeat_cases: int | None = None
    cost_eur: Decimal | None = None
    benefit_eur: Decimal | None = None

    def overlaps(self, start: date, end: date) -> bool:
        return self.period_start <= end and start <= self.period_end


@dataclass(frozen=True)
class Handover:
    handed_over_to: tuple[str, ...]
    regular_operations: str
    handed_over_at: datetime
    handed_over_by: str


@dataclass(frozen=True)
class StageChange:
    """One change of an implementation's stage or status, as published in ImplementationStageChanged."""

    id: uuid.UUID
    stage: Stage
    status: ImplementationStatus
    reason: str | None  # the reason of a pause, resumption or stop; the note of a stage change
    changed_at: datetime
    changed_by: str


def _reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise InvalidInput("reason", "must say why; it must not be blank")
    return reason.strip()


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
    stage: Stage = Stage.EXPLORATION
    changes: list[StageChange] = field(default_factory=list)  # oldest first

    @property
    def is_closed(self) -> bool:
        return self.status.closes

    @property
    def status_reason(self) -> str | None:
        """Why it is paused or stopped now; None while it is neither."""
        if self.status in (ImplementationStatus.PAUSED, ImplementationStatus.STOPPED) and self.changes:
            return self.changes[-1].reason
        return None

    def _closed_condition(self) -> list[str]:
        if self.is_closed and self.handover is not None:
            return [f"the implementation was handed over on {self.handover.handed_over_at:%Y-%m-%d} and is closed"]
        if self.status is ImplementationStatus.STOPPED and self.changes:
            stopped = self.changes[-1]
            return [f"the implementation was stopped on {stopped.changed_at:%Y-%m-%d} and is closed "
                    f"({stopped.reason})"]
        return ["the implementation is closed"] if self.is_closed else []

    def _paused_condition(self) -> list[str]:
        if self.status is ImplementationStatus.PAUSED:
            return [f"the implementation is paused ({self.status_reason}); resume it first"]
        return []

    def _change(self, *, reason: str | None, by: str, at: datetime) -> StageChange:
        change = StageChange(id=uuid.uuid4(), stage=self.stage, status=self.status, reason=reason, changed_at=at,
                             changed_by=by)
        self.changes.append(change)
        return change

    # --- stage and status -------------------------------------------------------------------------

    def set_stage(self, stage: Stage, *, note: str | None, by: str, at: datetime) -> StageChange:
        """Forward one stage at a time, back with a note (stages.check_move); not while paused or closed."""
        if stage is Stage.SUSTAINMENT:
            check_move(self.stage, stage, note)  # refused whatever the state: the handover leads there
        self._refuse("stage change", self._closed_condition() + self._paused_condition())
        note = check_move(self.stage, stage, note)
        self.stage = stage
        return self._change(reason=note, by=by, at=at)

    def pause(self, *, reason: str | None, by: str, at: datetime) -> StageChange:
        reason = _reason(reason)
        unmet = self._closed_condition()
        if self.status is ImplementationStatus.PAUSED:
            unmet.append(f"the implementation is already paused ({self.status_reason})")
        self._refuse("pausing", unmet)
        self.status = ImplementationStatus.PAUSED
        return self._change(reason=reason, by=by, at=at)

    def resume(self, *, reason: str | None, by: str, at: datetime) -> StageChange:
        """Back to where it was: running if it had been set running, else preparing."""
        reason = _reason(reason)
        unmet = self._closed_condition()
        if not unmet and self.status is not ImplementationStatus.PAUSED:
            unmet.append(f"the implementation is not paused (status {self.status.value})")
        self._refuse("resuming", unmet)
        self.status = ImplementationStatus.RUNNING if self.running_since else ImplementationStatus.PREPARING
        return self._change(reason=reason, by=by, at=at)

    def stop(self, *, reason: str | None, by: str, at: datetime) -> StageChange:
        """Given up: closed like a handed-over one, and its stage stays where it got to."""
        reason = _reason(reason)
        self._refuse("stopping", self._closed_condition())
        self.status = ImplementationStatus.STOPPED
        return self._change(reason=reason, by=by, at=at)

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

    def start_running(self, at: datetime, *, by: str) -> StageChange:
        """From preparing to running: only once the municipality's base funding is recorded."""
        unmet = self._closed_condition() + self._paused_condition()
        if self.status is ImplementationStatus.RUNNING:
            unmet.append(f"the implementation is already running (since {self.running_since:%Y-%m-%d})")
        if self.status is ImplementationStatus.PREPARING and not self.has_municipal_base_funding:
            unmet.append("no municipal base funding is recorded (kind base, from a municipality)")
        self._refuse("starting", unmet)
        self.status = ImplementationStatus.RUNNING
        self.running_since = at
        self.running_by = by
        return self._change(reason=None, by=by, at=at)

    # --- impact -----------------------------------------------------------------------------------

    def record_impact(self, *, period_start: date, period_end: date, households_reached: int,
                      households_debt_free: int, notes: str, by: str, at: datetime,
                      outcomes: Outcomes | None = None) -> ImpactMeasurement:
        if period_end < period_start:
            raise InvalidInput("period_end", f"must not be before period_start ({period_start})")
        if households_reached < 0:
            raise InvalidInput("households_reached", "must not be negative")
        if households_debt_free < 0:
            raise InvalidInput("households_debt_free", "must not be negative")
        if households_debt_free > households_reached:
            raise InvalidInput("households_debt_free",
                               f"must not exceed households_reached ({households_debt_free} > {households_reached})")
        outcomes = (outcomes or Outcomes()).checked(households_reached)
        unmet = self._closed_condition()
        # Paused after running still reports: the periods before the pause were measured.
        if not unmet and self.running_since is None:
            unmet.append("the implementation is not running yet; impact is measured while it runs")
        unmet += [f"the period overlaps the measurement of {m.period_start} to {m.period_end}"
                  for m in self.impacts if m.overlaps(period_start, period_end)]
        self._refuse("impact measurement", unmet)
        measurement = ImpactMeasurement(id=uuid.uuid4(), period_start=period_start, period_end=period_end,
                                        households_reached=households_reached,
                                        households_debt_free=households_debt_free, notes=notes,
                                        recorded_at=at, recorded_by=by,
                                        households_stabilised=outcomes.households_stabilised,
                                        median_days_to_stabilisation=outcomes.median_days_to_stabilisation,
                                        repeat_cases=outcomes.repeat_cases, cost_eur=outcomes.cost_eur,
                                        benefit_eur=outcomes.benefit_eur)
        self.impacts.append(measurement)
        self.impacts.sort(key=lambda m: m.period_start)
        return measurement

    @property
    def impact_totals(self) -> ImpactTotals:
        return impact_totals(self.impacts)

    # --- handover ---------------------------------------------------------------------------------

    def hand_over(self, *, to: list[str], regular_operations: str, by: str, at: datetime) -> Handover:
        """The lab's task for this project ends: it continues in the regular work of the organisations named."""
        organisations = [" ".join(o.split()) for o in to]
        if not organisations or not all(organisations):
            raise InvalidInput("handed_over_to", "name at least one organisation, none blank")
        if not regular_operations.strip():
            raise InvalidInput("regular_operations", "must say how the project continues; it must not be blank")
        unmet = self._closed_condition() + self._paused_condition()
        if self.status is ImplementationStatus.PREPARING:
            unmet.append("the implementation is not running yet")
        if not self.impacts:
            unmet.append("no impact has been measured yet")
        self._refuse("handover", unmet)
        self.handover = Handover(handed_over_to=tuple(organisations), regular_operations=regular_operations.strip(),
                                 handed_over_at=at, handed_over_by=by)
        self.status = ImplementationStatus.HANDED_OVER
        self.stage = Stage.SUSTAINMENT  # what the handover means in the implementation-science stages
        self._change(reason=None, by=by, at=at)
        return self.handover
