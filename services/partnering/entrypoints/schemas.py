"""Request and response bodies of partnering's HTTP API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from servicekit.inputs import Count
from servicekit.pagination import NEXT_CURSOR


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# The same limits as the contracts' Label and Text, so whatever we accept can be published.
Label = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_not_blank)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=10_000), AfterValidator(_not_blank)]
Notes = Annotated[str, StringConstraints(max_length=10_000)]
# Exact euros: a JSON string ("1250.50") or number; more than two decimals, zero or less are refused.
Euros = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2, allow_inf_nan=False,
                                 examples=["1250.00"])]
# A period's cost or benefit (SPEC 5.3) may be zero (a period run by volunteers); funding may not.
EurosOrZero = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False,
                                       examples=["51200.00"])]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


def example(**body: object) -> ConfigDict:
    """A request model's config with `body` as its documented example."""
    return ConfigDict(json_schema_extra={"examples": [body]})


class LabCreate(Request):
    model_config = example(name="Schuldenlab Drechtsteden", municipalities=["Dordrecht", "Zwijndrecht"],
                           region="Zuid-Holland Zuid")

    name: Label
    municipalities: list[Label] = Field(min_length=1, max_length=100)
    region: Label | None = None


class StepUpdate(Request):
    model_config = example(done=True, note="Kwartiermaker Kim Jansen started on 1 March")

    done: Literal[True] = Field(description="Always true: a set-up step, once done, stays done.")
    note: Notes | None = None


class PartnerCreate(Request):
    model_config = example(organisation="Gemeente Dordrecht", kind="public", sector="municipality",
                           is_municipality=True, commitment="Funds the kwartiermaker for two years and hosts the "
                                                            "programme team.")

    organisation: Label
    kind: Literal["public", "private", "societal"]
    sector: Label
    is_municipality: bool
    commitment: Text = Field(description="What the partner explicitly commits to bring to the lab.")


class ImplementationCreate(Request):
    model_config = example(project_id="6f1d2c3b-4a59-4e8f-9b7a-0c1d2e3f4a01")

    project_id: uuid.UUID


class FundingCreate(Request):
    model_config = example(source="Gemeente Dordrecht", kind="base", amount_eur="25000.00")

    source: Label = Field(description="A partner of the lab (its id or name) or one of the lab's municipalities.")
    kind: Literal["base", "additional"]
    amount_eur: Euros


class ImpactCreate(Request):
    model_config = example(period_start="2025-01-01", period_end="2025-06-30", households_reached=120,
                           households_debt_free=31, notes="First half year; intake through the district teams.")

    period_start: date
    period_end: date
    # The platform's one Count: strict (true/false are not counts), bounded by the integer column.
    households_reached: Count
    households_debt_free: Count
    notes: Notes = ""
    # The optional outcome and cost measures (SPEC 5.3).
    households_stabilised: Count | None = Field(default=None, description="At most households_reached.")
    median_days_to_stabilisation: Count | None = Field(default=None,
                                                       description="Needs households_stabilised of at least 1.")
    repeat_cases: Count | None = None
    cost_eur: EurosOrZero | None = Field(default=None, description="What the period cost (exact euros).")
    benefit_eur: EurosOrZero | None = Field(default=None, description="Estimated societal benefit (exact euros).")


class HandoverCreate(Request):
    model_config = example(handed_over_to=["Gemeente Dordrecht", "Sociaal Wijkteam Dordrecht"],
                           regular_operations="Part of the municipality's debt assistance from 2026, funded from "
                                              "its regular budget.")

    handed_over_to: list[Label] = Field(min_length=1, max_length=100)
    regular_operations: Text


class MemberCreate(Request):
    model_config = example(subject="programme-team-mvs")

    subject: str = Field(min_length=1, max_length=200, examples=["programme-team-mvs"],
                         description="The subject of the new member's lab token (`schuldenlab token --role lab "
                                     "--subject NAME`), matched exactly.")


# --- responses ------------------------------------------------------------------------------------
# Who did what (`*_by`: token subjects, often people's names) is shown to the lab's members and the operator
# only; to every other reader it is null.


class PartnerOut(BaseModel):
    id: uuid.UUID
    organisation: str
    kind: str
    sector: str
    is_municipality: bool
    commitment: str
    joined_at: datetime


class StepOut(BaseModel):
    step: str
    done: bool
    done_by: str | None = None
    done_at: datetime | None = None
    note: str | None = None


class FundingOut(BaseModel):
    id: uuid.UUID
    source: str
    source_partner_id: uuid.UUID | None
    source_is_municipality: bool
    kind: str
    amount_eur: Decimal
    recorded_at: datetime
    recorded_by: str | None


class FundingTotals(BaseModel):
    base_eur: Decimal
    additional_eur: Decimal
    total_eur: Decimal
    municipal_base_recorded: bool


class ImpactOut(BaseModel):
    id: uuid.UUID
    period_start: date
    period_end: date
    households_reached: int
    households_debt_free: int
    notes: str
    recorded_at: datetime
    recorded_by: str | None
    households_stabilised: int | None = None
    median_days_to_stabilisation: int | None = None
    repeat_cases: int | None = None
    cost_eur: Decimal | None = None
    benefit_eur: Decimal | None = None


class ImpactTotalsOut(BaseModel):
    households_reached: int
    households_debt_free: int
    # Null when no period reported the measure; a derived figure is null when its denominator is zero.
    households_stabilised: int | None = None
    repeat_cases: int | None = None
    cost_eur: Decimal | None = None
    benefit_eur: Decimal | None = None
    cost_per_household_reached_eur: Decimal | None = None
    cost_per_household_debt_free_eur: Decimal | None = None
    benefit_per_euro: Decimal | None = None


class ChangeOut(BaseModel):
    """One change of stage or status (ImplementationStageChanged)."""

    stage: str
    status: str
    reason: str | None
    changed_at: datetime
    changed_by: str | None


class HandoverOut(BaseModel):
    handed_over_to: list[str]
    regular_operations: str
    handed_over_at: datetime
    handed_over_by: str | None


class ImplementationOut(BaseModel):
    id: uuid.UUID
    lab_id: uuid.UUID
    project_id: uuid.UUID
    project_name: str
    municipalities: list[str]
    status: str
    started_at: datetime
    started_by: str | None
    running_since: datetime | None
    running_by: str | None
    funding: list[FundingOut]
    funding_totals: FundingTotals
    impact: list[ImpactOut]
    impact_totals: ImpactTotalsOut
    handover: HandoverOut | None
    stage: str = Field(description="exploration, installation, initial_implementation, full_implementation or "
                                   "sustainment (after the handover).")
    status_reason: str | None = Field(description="Why it is paused or stopped; null otherwise.")
    changes: list[ChangeOut] = Field(description="Every change of stage or status, oldest first.")


class LabSummary(BaseModel):
    id: uuid.UUID
    name: str
    municipalities: list[str]
    region: str | None
    status: str
    created_at: datetime
    formed_at: datetime | None
    partner_count: int
    steps_done: int


class LabOut(BaseModel):
    id: uuid.UUID
    name: str
    municipalities: list[str]
    region: str | None
    status: str
    created_at: datetime
    formed_at: datetime | None
    formed_by: str | None
    founding_partner_ids: list[uuid.UUID]
    partners: list[PartnerOut]
    checklist: list[StepOut]
    implementations: list[ImplementationOut]


class LabList(BaseModel):
    items: list[LabSummary]
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class MemberOut(BaseModel):
    subject: str
    added_by: str
    added_at: datetime


class MemberList(BaseModel):
    items: list[MemberOut]
