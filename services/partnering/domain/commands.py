"""What users ask partnering to do, as plain data; `by` is who asks (the token's subject)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class CreateLab:
    name: str
    municipalities: list[str]
    region: str | None
    by: str


@dataclass(frozen=True)
class CompleteSetupStep:
    lab_id: uuid.UUID
    step: str
    note: str | None
    by: str


@dataclass(frozen=True)
class JoinLab:
    lab_id: uuid.UUID
    organisation: str
    kind: str
    sector: str
    is_municipality: bool
    commitment: str
    by: str


@dataclass(frozen=True)
class FormLab:
    lab_id: uuid.UUID
    by: str


@dataclass(frozen=True)
class StartImplementation:
    lab_id: uuid.UUID
    project_id: uuid.UUID
    by: str


@dataclass(frozen=True)
class RecordFunding:
    implementation_id: uuid.UUID
    source: str
    kind: str
    amount_eur: Decimal
    by: str


@dataclass(frozen=True)
class StartRunning:
    implementation_id: uuid.UUID
    by: str


@dataclass(frozen=True)
class RecordImpact:
    implementation_id: uuid.UUID
    period_start: date
    period_end: date
    households_reached: int
    households_debt_free: int
    notes: str
    by: str


@dataclass(frozen=True)
class HandOverImplementation:
    implementation_id: uuid.UUID
    handed_over_to: list[str]
    regular_operations: str
    by: str
