"""Payload models of the v1 events (SPEC §3): what producers publish and consumers read.

The additions of SPEC 5.2 (ratings, re-assessment) live in `ratings`, those of SPEC 5.3 (stages, impact,
adoption, outcomes) in `adoption`, the shared vocabularies and scalar types in `base`; every public name of
those modules is importable from here too, as it was when they were all in this file.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from .adoption import (
    Adoption,
    ImpactRecorded,
    ImplementationStage,
    ImplementationStageChanged,
    ImplementationStatus,
    PooledOutcomes,
    StageCounts,
    StoppedImplementation,
)
from .base import (
    Availability,
    ContractModel,
    Count,
    HttpUrl,
    Label,
    Money,
    Notes,
    PartnerKind,
    Phase,
    Phases,
    Ratio,
    Revision,
    Text,
    Verdict,
)
from .ratings import EvidenceLevel, Rating, RatingStatus, ReassessmentDue, ReassessmentReason

__all__ = [
    "Adoption",
    "Availability",
    "CatalogueProject",
    "ContractModel",
    "Criteria",
    "CriterionVerdict",
    "EvidenceLevel",
    "ImpactRecorded",
    "ImpactTotals",
    "ImplementationStage",
    "ImplementationStageChanged",
    "ImplementationStarted",
    "ImplementationStatus",
    "LabFormed",
    "Origin",
    "PartnerJoined",
    "PartnerKind",
    "Phase",
    "PooledOutcomes",
    "PortfolioFit",
    "ProjectAssessed",
    "ProjectHandedOver",
    "ProjectPartner",
    "ProjectSubmitted",
    "Rating",
    "RatingStatus",
    "ReassessmentDue",
    "ReassessmentReason",
    "StageCounts",
    "StoppedImplementation",
    "Verdict",
]


# --- sub-models ----------------------------------------------------------------------------------


class Origin(ContractModel):
    """Where a project comes from."""

    organisation: Label = Field(description="Organisation that runs or developed the project.")
    municipality: Label = Field(description="Municipality where the project runs in production.")
    lab_id: uuid.UUID | None = Field(
        default=None, description="The local debt lab that developed it, if one did."
    )


class ProjectPartner(ContractModel):
    """A party involved in running a project."""

    name: Label = Field(description="Name of the partner organisation.")
    kind: PartnerKind = Field(description="Public, private or societal partner.")


class CriterionVerdict(ContractModel):
    """Whether one criterion of the assessment framework is met, and why."""

    met: bool = Field(description="True when the criterion is met.")
    notes: Notes = Field(description="The assessors' reasoning; may be empty.")


class Criteria(ContractModel):
    """The three criteria a proven project meets ("werkbaar, herbruikbaar, beschikbaar")."""

    workable: CriterionVerdict = Field(
        description="Runs in production with real clients, visible positive results and a "
        "sustainable continuity model."
    )
    reusable: CriterionVerdict = Field(
        description="Solves a widely shared problem involving public and private partners."
    )
    available: CriterionVerdict = Field(description="Available to others now or with small effort.")


class PortfolioFit(ContractModel):
    """What a project adds to the portfolio of proven projects."""

    phases: Phases = Field(description="Phases of debt assistance the project covers.")
    adds_to_portfolio: bool = Field(
        description="True when the project adds something the portfolio lacks (not more of the same)."
    )
    similar_project_ids: list[uuid.UUID] = Field(
        description="Proven projects already in the catalogue that cover similar ground."
    )


class ImpactTotals(ContractModel):
    """Impact measured in a lab over the whole implementation."""

    households_reached: Count = Field(description="Households the project reached.")
    households_debt_free: Count = Field(description="Households that became free of debt.")
    # --- outcomes and costs (SPEC 5.3): optional, absent (null) when no measurement reported them ---
    households_stabilised: Count | None = Field(
        default=None, description="Households whose debt situation was stabilised (periods that reported it)."
    )
    repeat_cases: Count | None = Field(
        default=None, description="Households that came back with new debts (periods that reported it)."
    )
    cost_eur: Money | None = Field(
        default=None, description="What the implementation cost, over the periods that reported a cost."
    )
    benefit_eur: Money | None = Field(
        default=None, description="Estimated societal benefit, over the periods that reported one."
    )
    cost_per_household_reached_eur: Money | None = Field(
        default=None,
        description="Cost / households reached over the periods that reported a cost; null when none "
        "was reached (never infinite).",
    )
    cost_per_household_debt_free_eur: Money | None = Field(
        default=None,
        description="Cost / households debt-free over the periods that reported a cost; null when none "
        "became debt-free.",
    )
    benefit_per_euro: Ratio | None = Field(
        default=None,
        description="Benefit / cost over the periods that reported both; null when they cost nothing.",
    )

    @model_validator(mode="after")
    def _debt_free_were_reached(self) -> ImpactTotals:
        # A household can only become debt-free through the project if the project reached it.
        if self.households_debt_free > self.households_reached:
            raise ValueError(
                "households_debt_free must not exceed households_reached "
                f"({self.households_debt_free} > {self.households_reached})"
            )
        stabilised = self.households_stabilised
        if stabilised is not None and stabilised > self.households_reached:
            raise ValueError(
                "households_stabilised must not exceed households_reached "
                f"({stabilised} > {self.households_reached})"
            )
        return self


# --- the project dossier, shared by the submission and the catalogue feed ------------------------


class _ProjectDossier(ContractModel):
    """The public part of a project's dossier; the contact person is deliberately absent (GDPR)."""

    project_id: uuid.UUID = Field(description="Id of the project (the aggregate id).")
    revision: Revision = Field(
        description="1 on first submission, +1 for every resubmission of the dossier."
    )
    name: Label = Field(description="Name of the project.")
    summary: Text = Field(description="What the project does, in a few sentences.")
    problem: Text = Field(description="The problem it solves.")
    target_group: Text = Field(description="Who it is for.")
    phases: Phases = Field(description="Phases of debt assistance it covers; unique, not empty.")
    themes: list[Label] = Field(max_length=50, description="Free-form themes, e.g. 'youth'.")
    origin: Origin = Field(description="Where the project comes from.")
    partners: list[ProjectPartner] = Field(
        max_length=200, description="Parties involved in running it."
    )
    in_production: bool = Field(description="True when it runs with real clients and real data.")
    clients_served: Count = Field(description="Clients served so far.")
    results: Text = Field(description="Results achieved, as visible to others.")
    evidence_urls: list[HttpUrl] = Field(
        max_length=50, description="Public http(s) links to reports and evaluations."
    )
    continuity_model: Text = Field(
        description="How it keeps running when subsidies end (who pays, who runs it)."
    )
    availability: Availability = Field(description="How soon others can implement it.")


# --- event payloads ------------------------------------------------------------------------------


class ProjectSubmitted(_ProjectDossier):
    """A project was submitted ("aangemeld") or resubmitted to become a proven project."""

    submitted_at: AwareDatetime = Field(description="When this revision was submitted.")


class ProjectAssessed(ContractModel):
    """The portfolio board decided on one revision of a submitted project."""

    project_id: uuid.UUID = Field(description="Id of the assessed project (the aggregate id).")
    assessment_id: uuid.UUID = Field(description="Id of the assessment.")
    revision: Revision = Field(description="The revision of the dossier that was assessed.")
    verdict: Verdict = Field(description="Proven, rejected, or more information needed.")
    criteria: Criteria = Field(description="The verdict per criterion.")
    portfolio: PortfolioFit = Field(description="How the project fits the portfolio.")
    rationale: Text = Field(description="The board's reasons for the verdict.")
    decided_at: AwareDatetime = Field(description="When the board decided.")
    override_reason: Text | None = Field(
        default=None,
        description="The board's written reason for deciding 'proven' against the reviews' majority; "
        "absent when the reviews carried the verdict.",
    )
    evidence_level: EvidenceLevel | None = Field(
        default=None,
        description="For 'proven': how strong the evidence is (practice_based unless the board said more); "
        "absent for other verdicts and in events from before evidence levels.",
    )
    valid_until: AwareDatetime | None = Field(
        default=None, description="For 'proven': when the rating runs out unless a re-assessment renews it."
    )


class LabFormed(ContractModel):
    """A local debt lab ("lokaal Schuldenlab") was formed by its partners."""

    lab_id: uuid.UUID = Field(description="Id of the lab (the aggregate id).")
    name: Label = Field(description="Name of the lab, e.g. 'Schuldenlab070'.")
    municipalities: list[Label] = Field(
        min_length=1, max_length=100, description="Municipalities the lab works in; at least one."
    )
    region: Label | None = Field(default=None, description="Region, for a regional lab.")
    founding_partner_ids: list[uuid.UUID] = Field(
        min_length=1, description="Partners that formed the lab (at least one municipality)."
    )
    formed_at: AwareDatetime = Field(description="When the lab was formed.")


class PartnerJoined(ContractModel):
    """A partner joined a lab with a commitment."""

    lab_id: uuid.UUID = Field(description="Id of the lab joined (the aggregate id).")
    partner_id: uuid.UUID = Field(description="Id of the partner within the lab.")
    organisation: Label = Field(description="Name of the partner organisation.")
    kind: PartnerKind = Field(description="Public, private or societal partner.")
    sector: Label = Field(description="Sector, e.g. 'housing', 'energy', 'banking'.")
    is_municipality: bool = Field(description="True when the partner is a municipality.")
    commitment: Text = Field(description="What the partner commits to bring to the lab.")
    joined_at: AwareDatetime = Field(description="When the partner joined.")


class ImplementationStarted(ContractModel):
    """A lab adopted a proven project from the catalogue and started implementing it."""

    lab_id: uuid.UUID = Field(description="Id of the implementing lab (the aggregate id).")
    implementation_id: uuid.UUID = Field(description="Id of the implementation.")
    project_id: uuid.UUID = Field(description="Id of the catalogue project being implemented.")
    municipalities: list[Label] = Field(
        min_length=1, max_length=100, description="Municipalities where it is implemented."
    )
    started_at: AwareDatetime = Field(description="When implementation started.")


class ProjectHandedOver(ContractModel):
    """A lab handed an implemented project over to regular operations; its task there is done."""

    lab_id: uuid.UUID = Field(description="Id of the lab (the aggregate id).")
    implementation_id: uuid.UUID = Field(description="Id of the implementation that ended.")
    project_id: uuid.UUID = Field(description="Id of the catalogue project.")
    handed_over_to: list[Label] = Field(
        min_length=1, max_length=100, description="Organisations that continue it."
    )
    regular_operations: Text = Field(description="How it continues as part of their regular work.")
    impact: ImpactTotals = Field(description="Totals measured in the lab.")
    handed_over_at: AwareDatetime = Field(description="When it was handed over.")


class CatalogueProject(_ProjectDossier):
    """The public state of one proven project in the catalogue (the compacted catalogue feed)."""

    status: Literal["proven"] = Field(
        default="proven", description="Public status; only proven projects are in the catalogue."
    )
    submitted_at: AwareDatetime | None = Field(
        default=None, description="When the published revision was submitted."
    )
    assessment_id: uuid.UUID = Field(description="The assessment that found the project proven.")
    decided_at: AwareDatetime = Field(description="When the board found it proven.")
    rationale: Text | None = Field(default=None, description="The board's reasons, if public.")
    labs_implementing: list[uuid.UUID] = Field(
        description="Labs that are implementing the project now."
    )
    handovers: Count = Field(description="Implementations handed over to regular operations.")
    municipalities: list[Label] = Field(
        description="Municipalities where it runs or is being implemented."
    )
    updated_at: AwareDatetime = Field(description="When this record last changed.")
    rating: Rating | None = Field(
        default=None, description="The rating (SPEC 5.2); absent for projects decided before evidence levels."
    )
    adoption: Adoption | None = Field(
        default=None, description="Implementations per stage, paused, stopped with reasons, handed over (SPEC 5.3)."
    )
    outcomes: PooledOutcomes | None = Field(
        default=None, description="Outcomes pooled over the sites that reported; absent before any did (SPEC 5.3)."
    )
