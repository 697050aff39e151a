"""Payload models of SPEC 5.3: implementation stages and stopping, impact measurements, pooled adoption and outcomes."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from .base import ContractModel, Count, Label, Money, Ratio, Text

__all__ = [
    "Adoption",
    "ImpactRecorded",
    "ImplementationStage",
    "ImplementationStageChanged",
    "ImplementationStatus",
    "PooledOutcomes",
    "StageCounts",
    "StoppedImplementation",
]


class ImplementationStage(StrEnum):
    """How far a lab has come implementing a project (the implementation-science stages)."""

    EXPLORATION = "exploration"
    INSTALLATION = "installation"
    INITIAL_IMPLEMENTATION = "initial_implementation"
    FULL_IMPLEMENTATION = "full_implementation"
    SUSTAINMENT = "sustainment"  # after the handover to regular operations


class ImplementationStatus(StrEnum):
    """Whether an implementation is under way, paused, stopped (closed) or handed over (closed)."""

    PREPARING = "preparing"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    HANDED_OVER = "handed_over"


class ImplementationStageChanged(ContractModel):
    """An implementation's stage or status changed: a stage set, paused, resumed, stopped, started or handed over."""

    lab_id: uuid.UUID = Field(description="Id of the lab (the aggregate id).")
    implementation_id: uuid.UUID = Field(description="Id of the implementation.")
    project_id: uuid.UUID = Field(description="Id of the catalogue project.")
    municipalities: list[Label] = Field(
        default_factory=list, max_length=100, description="Municipalities where it is implemented."
    )
    stage: ImplementationStage = Field(description="The stage after the change.")
    status: ImplementationStatus = Field(description="The status after the change.")
    reason: Text | None = Field(
        default=None,
        description="Why: the reason of a pause, resumption or stop, or the note of a stage change "
        "(required for a step back); absent otherwise.",
    )
    changed_at: AwareDatetime = Field(description="When it changed.")


class ImpactRecorded(ContractModel):
    """A lab recorded one impact measurement of an implementation over a period (both dates included)."""

    lab_id: uuid.UUID = Field(description="Id of the lab (the aggregate id).")
    implementation_id: uuid.UUID = Field(description="Id of the implementation measured.")
    project_id: uuid.UUID = Field(description="Id of the catalogue project.")
    municipalities: list[Label] = Field(
        min_length=1, max_length=100, description="Municipalities where it is implemented."
    )
    measurement_id: uuid.UUID | None = Field(default=None, description="Id of the measurement.")
    period_start: date = Field(description="First day of the period measured.")
    period_end: date = Field(description="Last day of the period measured (included).")
    households_reached: Count = Field(description="Households reached in the period.")
    households_debt_free: Count = Field(description="Households that became debt-free in the period.")
    households_stabilised: Count | None = Field(
        default=None, description="Households whose debt situation was stabilised in the period."
    )
    median_days_to_stabilisation: Count | None = Field(
        default=None, description="Median days from intake to a stable situation, of those stabilised."
    )
    repeat_cases: Count | None = Field(
        default=None, description="Households that came back with new debts in the period."
    )
    cost_eur: Money | None = Field(default=None, description="What the period cost, in exact euros.")
    benefit_eur: Money | None = Field(
        default=None, description="Estimated societal benefit of the period, in exact euros."
    )
    recorded_at: AwareDatetime = Field(description="When the measurement was recorded.")

    @model_validator(mode="after")
    def _consistent(self) -> ImpactRecorded:
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        reached = self.households_reached
        for name in ("households_debt_free", "households_stabilised"):
            value = getattr(self, name)
            if value is not None and value > reached:
                raise ValueError(f"{name} must not exceed households_reached ({value} > {reached})")
        return self


class StageCounts(ContractModel):
    """How many implementations are at each stage (stopped ones aside)."""

    exploration: Count = Field(default=0, description="Implementations exploring the project.")
    installation: Count = Field(default=0, description="Implementations preparing it.")
    initial_implementation: Count = Field(default=0, description="Implementations in their first use of it.")
    full_implementation: Count = Field(default=0, description="Implementations running it fully.")
    sustainment: Count = Field(default=0, description="Implementations handed over to regular operations.")


class StoppedImplementation(ContractModel):
    """An implementation a lab stopped: kept visible with its reason, a lesson for the next municipality."""

    implementation_id: uuid.UUID = Field(description="Id of the implementation.")
    lab_id: uuid.UUID = Field(description="The lab that stopped it.")
    municipalities: list[Label] = Field(default_factory=list, max_length=100, description="Where it was implemented.")
    stage: ImplementationStage = Field(description="The stage it had reached.")
    reason: Text | None = Field(default=None, description="Why it was stopped.")
    stopped_at: AwareDatetime | None = Field(default=None, description="When it was stopped.")


class Adoption(ContractModel):
    """Where a project is being adopted and how far (SPEC 5.3)."""

    implementations: Count = Field(description="Implementations not stopped (running, paused or handed over).")
    stages: StageCounts = Field(description="Implementations not stopped, per stage.")
    paused: Count = Field(description="Implementations paused now.")
    handed_over: Count = Field(description="Implementations handed over to regular operations.")
    stopped: list[StoppedImplementation] = Field(description="Implementations stopped, with their reasons.")
    municipalities: list[Label] = Field(
        description="Municipalities of the implementations not stopped (stopped ones name theirs)."
    )


class PooledOutcomes(ContractModel):
    """Outcomes pooled over every implementation (site) that reported a measurement (SPEC 5.3)."""

    sites_reporting: Count = Field(description="Implementations with at least one measurement.")
    households_reached: Count = Field(description="Households reached, summed over every measurement.")
    households_stabilised: Count | None = Field(
        default=None, description="Households stabilised, summed over the measurements that reported it."
    )
    households_debt_free: Count = Field(description="Households debt-free, summed over every measurement.")
    cost_per_debt_free_household_eur: Money | None = Field(
        default=None,
        description="Median over sites of each site's cost / households debt-free (periods with a cost); absent "
        "when no site has the figure (a zero denominator gives none).",
    )
    benefit_per_euro: Ratio | None = Field(
        default=None,
        description="Median over sites that gave benefits of each site's benefit / cost (periods with both); "
        "absent when none has the figure.",
    )
