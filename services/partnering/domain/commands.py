"""What users ask partnering to do, as plain data; `by` is who asks (the token's subject)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from partnering.domain.membership import Actor


@dataclass(frozen=True)
class Command:
    """Every command names its asker in `by`; `by_operator` says the asker holds the operator role, who may
    change every lab. False unless said, so a command built without it is held to the lab's membership: a
    forgotten flag can only give less, never more."""

    by_operator: bool = field(default=False, kw_only=True)

    @property
    def actor(self) -> Actor:
        # Changes reach a handler only through routes that admit `lab` or `operator`: the asker holds one of them.
        return Actor(self.by, is_operator=self.by_operator, holds_lab_role=True)


@dataclass(frozen=True)
class CreateLab(Command):
    name: str
    municipalities: list[str]
    region: str | None
    by: str


@dataclass(frozen=True)
class CompleteSetupStep(Command):
    lab_id: uuid.UUID
    step: str
    note: str | None
    by: str


@dataclass(frozen=True)
class JoinLab(Command):
    lab_id: uuid.UUID
    organisation: str
    kind: str
    sector: str
    is_municipality: bool
    commitment: str
    by: str


@dataclass(frozen=True)
class FormLab(Command):
    lab_id: uuid.UUID
    by: str


@dataclass(frozen=True)
class StartImplementation(Command):
    lab_id: uuid.UUID
    project_id: uuid.UUID
    by: str


@dataclass(frozen=True)
class RecordFunding(Command):
    implementation_id: uuid.UUID
    source: str
    kind: str
    amount_eur: Decimal
    by: str


@dataclass(frozen=True)
class StartRunning(Command):
    implementation_id: uuid.UUID
    by: str


@dataclass(frozen=True)
class RecordImpact(Command):
    implementation_id: uuid.UUID
    period_start: date
    period_end: date
    households_reached: int
    households_debt_free: int
    notes: str
    by: str
    # The optional outcome and cost measures (SPEC 5.3).
    households_stabilised: int | None = None
    median_days_to_stabilisation: int | None = None
    repeat_cases: int | None = None
    cost_eur: Decimal | None = None
    benefit_eur: Decimal | None = None


@dataclass(frozen=True)
class HandOverImplementation(Command):
    implementation_id: uuid.UUID
    handed_over_to: list[str]
    regular_operations: str
    by: str


@dataclass(frozen=True)
class AddLabMember(Command):
    lab_id: uuid.UUID
    subject: str
    by: str


@dataclass(frozen=True)
class RemoveLabMember(Command):
    lab_id: uuid.UUID
    subject: str
    by: str


# --- implementation stages, pausing and stopping (SPEC 5.3) ----------------------------------------


@dataclass(frozen=True)
class SetStage(Command):
    implementation_id: uuid.UUID
    stage: str
    note: str | None
    by: str


@dataclass(frozen=True)
class ChangeImplementationStatus(Command):
    """Pause, resume or stop an implementation; each needs a reason."""

    implementation_id: uuid.UUID
    action: str  # "pause" | "resume" | "stop"
    reason: str | None
    by: str
